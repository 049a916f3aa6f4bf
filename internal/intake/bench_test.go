package intake

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// benchParse runs parse on a sample file.
func benchParse(b *testing.B, file string, parse func([]byte) error) {
	body, err := os.ReadFile(file)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := parse(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseFalco(b *testing.B) {
	benchParse(b, filepath.Join(samplesDir, "falco-website_docs-outputs-channels_terminal-shell.json"), func(body []byte) error {
		_, err := ParseFalco(body, time.Now())
		return err
	})
}

func BenchmarkParseTrivy(b *testing.B) {
	benchParse(b, filepath.Join(samplesDir, alpineSample), func(body []byte) error {
		_, err := ParseTrivy(body, time.Now())
		return err
	})
}

func BenchmarkParseAlertmanager(b *testing.B) {
	benchParse(b, filepath.Join("testdata", "alertmanager-v4_schema-example.json"), func(body []byte) error {
		_, err := ParseAlertmanager(body, time.Now(), DefaultLabelMap())
		return err
	})
}
