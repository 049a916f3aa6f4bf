package intake

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// schemaDoc is the part of AlertSchema the tests read.
type schemaDoc struct {
	Required   []string                   `json:"required"`
	Properties map[string]json.RawMessage `json:"properties"`
	Examples   []json.RawMessage          `json:"examples"`
}

// readSchema decodes AlertSchema and compiles it as draft 2020-12.
func readSchema(t *testing.T) (schemaDoc, *jsonschema.Schema) {
	t.Helper()
	var doc schemaDoc
	if err := json.Unmarshal(AlertSchema, &doc); err != nil {
		t.Fatalf("AlertSchema is not JSON: %v", err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(AlertSchema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("alert.json", v); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("alert.json")
	if err != nil {
		t.Fatalf("compile AlertSchema: %v", err)
	}
	return doc, sch
}

// schemaValid reports whether body validates against sch.
func schemaValid(t *testing.T, sch *jsonschema.Schema, body []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

func TestAlertSchemaExamples(t *testing.T) {
	doc, sch := readSchema(t)
	if len(doc.Examples) < 3 {
		t.Fatalf("AlertSchema has %d examples, want at least 3", len(doc.Examples))
	}
	for i, ex := range doc.Examples {
		if err := schemaValid(t, sch, ex); err != nil {
			t.Errorf("example %d does not validate: %v", i, err)
		}
		if _, err := ParseGeneric(ex, time.Now()); err != nil {
			t.Errorf("example %d: ParseGeneric: %v", i, err)
		}
	}
}

func TestAlertSchemaRequired(t *testing.T) {
	doc, sch := readSchema(t)
	if want := []string{"source", "rule", "priority"}; !slices.Equal(doc.Required, want) {
		t.Errorf("required = %q, want %q", doc.Required, want)
	}
	for i, ex := range doc.Examples {
		for _, key := range doc.Required {
			var obj map[string]any
			if err := json.Unmarshal(ex, &obj); err != nil {
				t.Fatal(err)
			}
			delete(obj, key)
			body, _ := json.Marshal(obj)
			if schemaValid(t, sch, body) == nil {
				t.Errorf("example %d without %s validates against the schema", i, key)
			}
			_, err := ParseGeneric(body, time.Now())
			if err == nil || err.Error() != "alert: missing "+key {
				t.Errorf("example %d without %s: ParseGeneric error = %v, want %q", i, key, err, "alert: missing "+key)
			}
		}
	}
}

// jsonNames lists the JSON names of a struct's fields.
func jsonNames(v any) []string {
	var out []string
	typ := reflect.TypeOf(v)
	for i := range typ.NumField() {
		out = append(out, strings.Split(typ.Field(i).Tag.Get("json"), ",")[0])
	}
	slices.Sort(out)
	return out
}

func TestAlertSchemaProperties(t *testing.T) {
	doc, _ := readSchema(t)
	if got, want := slices.Sorted(maps.Keys(doc.Properties)), jsonNames(genericAlert{}); !slices.Equal(got, want) {
		t.Errorf("schema properties %q, parser keys %q", got, want)
	}
	var target struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(doc.Properties["target"], &target); err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(maps.Keys(target.Properties)), jsonNames(genericTarget{}); !slices.Equal(got, want) {
		t.Errorf("schema target properties %q, parser keys %q", got, want)
	}
}

// TestAlertSchemaAgrees checks that the schema and the parser take and
// refuse the same bodies, where the schema can say (names whose grammar a
// pattern does not hold, such as image references, are the parser's).
func TestAlertSchemaAgrees(t *testing.T) {
	_, sch := readSchema(t)
	const base = `"source":"edr","rule":"r","priority":"warning"`
	tests := []struct {
		name string
		body string
		ok   bool
	}{
		{"minimal", `{` + base + `}`, true},
		{"nulls", `{` + base + `,"id":null,"time":null,"output":null,"tags":null,"fields":null,"labels":null,"target":null}`, true},
		{"unknown key", `{` + base + `,"severity":"high"}`, false},
		{"unknown target key", `{` + base + `,"target":{"container":"web"}}`, false},
		{"reserved source", `{"source":"falco","rule":"r","priority":"warning"}`, false},
		{"upper-case source", `{"source":"EDR","rule":"r","priority":"warning"}`, false},
		{"source with a slash", `{"source":"a/b","rule":"r","priority":"warning"}`, false},
		{"blank rule", `{"source":"edr","rule":"  ","priority":"warning"}`, false},
		{"rule a number", `{"source":"edr","rule":1,"priority":"warning"}`, false},
		{"priority unknown", `{"source":"edr","rule":"r","priority":"urgent"}`, false},
		{"priority capitalised", `{"source":"edr","rule":"r","priority":"Warning"}`, false},
		{"priority info", `{"source":"edr","rule":"r","priority":"info"}`, true},
		{"id", `{` + base + `,"id":"evt-1:2"}`, true},
		{"id with a space", `{` + base + `,"id":"evt 1"}`, false},
		{"tags", `{` + base + `,"tags":["a","b"]}`, true},
		{"tag a number", `{` + base + `,"tags":["a",1]}`, false},
		{"tags an object", `{` + base + `,"tags":{}}`, false},
		{"33 tags", `{` + base + `,"tags":[` + strings.TrimSuffix(strings.Repeat(`"t",`, 33), ",") + `]}`, false},
		{"fields an array", `{` + base + `,"fields":[]}`, false},
		{"label a number", `{` + base + `,"labels":{"a":1}}`, false},
		{"docker target", `{` + base + `,"target":{"kind":"docker","container_id":"3f2a9c1d0b7e"}}`, true},
		{"docker target by name", `{` + base + `,"target":{"kind":"docker","container_name":"/web"}}`, true},
		{"docker target without a container", `{` + base + `,"target":{"kind":"docker","host":"node-1"}}`, false},
		{"docker target with an empty ID", `{` + base + `,"target":{"kind":"docker","container_id":""}}`, false},
		{"kubernetes target", `{` + base + `,"target":{"kind":"kubernetes","namespace":"shop","pod":"web-0"}}`, true},
		{"kubernetes target without a pod", `{` + base + `,"target":{"kind":"kubernetes","namespace":"shop"}}`, false},
		{"image target", `{` + base + `,"target":{"kind":"image","image_id":"` + testImageID + `"}}`, true},
		{"image target without an ID", `{` + base + `,"target":{"kind":"image","image":"nginx:1.27"}}`, false},
		{"unknown kind", `{` + base + `,"target":{"kind":"vm"}}`, false},
		{"kind inferred", `{` + base + `,"target":{"container_id":"3F2A9C1D0B7E"}}`, true},
		{"short container ID", `{` + base + `,"target":{"container_id":"3f2a"}}`, false},
		{"path as container ID", `{` + base + `,"target":{"container_id":"../../etc"}}`, false},
		{"command as container ID", `{` + base + `,"target":{"container_id":"$(id)"}}`, false},
		{"path as container name", `{` + base + `,"target":{"container_name":"../networks/x"}}`, false},
		{"NUL in a container name", `{` + base + `,"target":{"container_name":"web\u0000"}}`, false},
		{"host", `{` + base + `,"target":{"host":"node-1.example.com","container_id":"3f2a9c1d0b7e"}}`, true},
		{"host an address", `{` + base + `,"target":{"host":"10.0.0.7","container_id":"3f2a9c1d0b7e"}}`, true},
		{"host with an underscore", `{` + base + `,"target":{"host":"node_1","container_id":"3f2a9c1d0b7e"}}`, false},
		{"upper-case namespace", `{` + base + `,"target":{"namespace":"Shop","pod":"web"}}`, false},
		{"pod with a slash", `{` + base + `,"target":{"namespace":"shop","pod":"web/0"}}`, false},
		{"bad image ID", `{` + base + `,"target":{"image_id":"sha256:abc"}}`, false},
		{"cluster", `{` + base + `,"target":{"cluster":"prod_eu-1","namespace":"shop","pod":"web"}}`, true},
		{"cluster with a space", `{` + base + `,"target":{"cluster":"prod eu","namespace":"shop","pod":"web"}}`, false},
		{"time", `{` + base + `,"time":"2024-02-03T04:05:06+01:00"}`, true},
		{"time a number", `{` + base + `,"time":1706929506}`, false},
		{"array", `[]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			schemaErr := schemaValid(t, sch, []byte(tt.body))
			_, parseErr := ParseGeneric([]byte(tt.body), time.Now())
			if (schemaErr == nil) != tt.ok {
				t.Errorf("schema: %v, want ok=%v", schemaErr, tt.ok)
			}
			if (parseErr == nil) != tt.ok {
				t.Errorf("ParseGeneric: %v, want ok=%v", parseErr, tt.ok)
			}
			if parseErr != nil && !errors.Is(parseErr, ErrInvalid) {
				t.Errorf("ParseGeneric error %v is not ErrInvalid", parseErr)
			}
		})
	}
}
