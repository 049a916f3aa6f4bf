package playbooks_test

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/quell-ir/quell/playbooks"
)

// compiledSchema compiles the published schema, playbooks/schema.json.
func compiledSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(playbooks.SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(playbooks.SchemaID)
	if err != nil {
		t.Fatalf("compile schema.json: %v", err)
	}
	return s
}

// yamlValue decodes a playbook file as the schema sees it: JSON values.
func yamlValue(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSchemaIsCurrent(t *testing.T) {
	_, reg := library(t)
	got, err := os.ReadFile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	if want := playbooks.SchemaJSON(reg); !bytes.Equal(got, want) {
		if os.Getenv("QUELL_UPDATE_SCHEMA") != "" {
			if err := os.WriteFile("schema.json", want, 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Fatal("playbooks/schema.json is not what the types and the step registry give: " +
			"regenerate it with QUELL_UPDATE_SCHEMA=1 go test -run TestSchemaIsCurrent ./playbooks (or quell playbook schema)")
	}
}

func TestSchemaValidatesLibrary(t *testing.T) {
	s := compiledSchema(t)
	files, err := fs.Glob(playbooks.Library, "library/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("library files: %v %v", files, err)
	}
	for _, name := range files {
		data, err := fs.ReadFile(playbooks.Library, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(yamlValue(t, data)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestSchemaRefuses(t *testing.T) {
	s := compiledSchema(t)
	for _, tc := range []struct{ name, doc, want string }{
		{"unknown playbook key", "name: x\nmatch: {source: falco}\nsteps: [{id: r, kind: report:write}]\ncolour: red\n", "colour"},
		{"unknown step key", "name: x\nmatch: {source: falco}\nsteps: [{id: r, kind: report:write, retries: 3}]\n", "retries"},
		{"unknown kind", "name: x\nmatch: {source: falco}\nsteps: [{id: r, kind: docker:explode}]\n", "kind"},
		{"unknown param", "name: x\nmatch: {source: falco}\nsteps: [{id: s, kind: evidence:snapshot, with: {exprot: true}}]\n", "exprot"},
		{"param type", "name: x\nmatch: {source: falco}\nsteps: [{id: s, kind: evidence:snapshot, with: {export: yes please}}]\n", "export"},
		{"bad priority", "name: x\nmatch: {source: falco, min_priority: urgent}\nsteps: [{id: r, kind: report:write}]\n", "min_priority"},
		{"bad duration", "name: x\nmatch: {source: falco}\nsteps: [{id: r, kind: report:write, timeout: 30}]\n", "timeout"},
		{"no steps", "name: x\nmatch: {source: falco}\n", "steps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Validate(yamlValue(t, []byte(tc.doc)))
			if err == nil {
				t.Fatal("schema accepted it")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %q", err, tc.want)
			}
		})
	}
}
