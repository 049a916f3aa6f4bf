package playbooks

import (
	"bytes"
	_ "embed" // the Go source of the playbook types, for their doc comments
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"slices"
	"strings"

	"github.com/quell-ir/quell/internal/alert"
)

// SchemaID is the $id of the playbook JSON Schema: where it is published
// in the repository.
const SchemaID = "https://raw.githubusercontent.com/quell-ir/quell/main/playbooks/schema.json"

// typesSource is playbook.go, read for the doc comments of the playbook
// types' fields, which become the schema's descriptions.
//
//go:embed playbook.go
var typesSource string

// durationPattern is what time.ParseDuration accepts, without a sign.
const durationPattern = `^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$`

// schemaDefs names the struct types that become definitions.
var schemaDefs = map[reflect.Type]string{
	reflect.TypeFor[Match]():    "match",
	reflect.TypeFor[Step]():     "step",
	reflect.TypeFor[Retry]():    "retry",
	reflect.TypeFor[Playbook](): "playbook",
}

// Schema returns the JSON Schema (draft-07, as yaml-language-server reads
// it) of a playbook file: the keys and types of Playbook, Match, Step and
// Retry with their doc comments as descriptions, every unknown key
// refused, and each step's "with" described by its kind's parameters in
// reg. Its JSON encoding is stable: map keys sort.
func Schema(reg *Registry) map[string]any {
	docs := fieldDocs()
	s := &schemaBuilder{docs: docs, reg: reg, defs: map[string]any{}}
	root := s.object(reflect.TypeFor[Playbook]())
	root["$schema"] = "http://json-schema.org/draft-07/schema#"
	root["$id"] = SchemaID
	root["title"] = "quell playbook"
	root["definitions"] = s.defs
	return root
}

// SchemaJSON is Schema encoded as indented JSON with a final newline, as
// published in playbooks/schema.json.
func SchemaJSON(reg *Registry) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(Schema(reg)); err != nil {
		panic(fmt.Sprintf("playbook schema: %v", err)) // only maps, slices and plain values
	}
	return b.Bytes()
}

// schemaBuilder turns Go types into schema values.
type schemaBuilder struct {
	docs map[string]string
	reg  *Registry
	defs map[string]any
}

// required lists the keys a playbook file must set, by type and field.
var required = map[string][]string{
	"Playbook": {"name", "steps"},
	"Step":     {"id", "kind"},
}

// object describes struct type t by its yaml keys.
func (s *schemaBuilder) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var req []string
	for i := range t.NumField() {
		f := t.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if key == "" || key == "-" || !f.IsExported() {
			continue
		}
		p := s.field(t.Name(), f)
		if d := s.docs[t.Name()+"."+f.Name]; d != "" {
			p["description"] = d
		}
		props[key] = p
		if slices.Contains(required[t.Name()], key) {
			req = append(req, key)
		}
	}
	o := map[string]any{"type": "object", "additionalProperties": false, "properties": props}
	if d := s.docs[t.Name()]; d != "" {
		o["description"] = d
	}
	if len(req) > 0 {
		o["required"] = req
	}
	if t == reflect.TypeFor[Step]() {
		o["allOf"] = s.kindParams()
	}
	return o
}

// field describes one field of struct type owner.
func (s *schemaBuilder) field(owner string, f reflect.StructField) map[string]any {
	switch owner + "." + f.Name {
	case "Step.Kind":
		return map[string]any{"type": "string", "enum": kindNames(s.reg)}
	case "Step.OnFailure":
		return map[string]any{"type": "string", "enum": []string{OnFailureAbort, OnFailureContinue}}
	case "Step.With":
		return map[string]any{"type": "object"}
	case "Match.Target":
		return map[string]any{"type": "string", "enum": targetKinds}
	case "Match.MinSeverity":
		return map[string]any{"type": "string", "enum": alert.Severities}
	}
	return s.typ(f.Type)
}

// typ describes a value of Go type t.
func (s *schemaBuilder) typ(t reflect.Type) map[string]any {
	switch t {
	case reflect.TypeFor[Duration]():
		return map[string]any{"type": "string", "pattern": durationPattern}
	case reflect.TypeFor[alert.Priority]():
		return map[string]any{"type": "string", "enum": priorityNames()}
	}
	if name, ok := schemaDefs[t]; ok {
		if _, done := s.defs[name]; !done {
			s.defs[name] = nil // placeholder: the type may refer to itself
			s.defs[name] = s.object(t)
		}
		return map[string]any{"$ref": "#/definitions/" + name}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return s.typ(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": s.typ(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": s.typ(t.Elem())}
	}
	panic(fmt.Sprintf("playbook schema: no schema for Go type %s", t))
}

// kindParams returns, for each registered kind, the rule that a step of
// that kind takes exactly its parameters in "with".
func (s *schemaBuilder) kindParams() []any {
	var out []any
	for _, k := range s.reg.Kinds() {
		props := map[string]any{}
		var req []string
		for _, p := range k.Params {
			props[p.Name] = paramSchema(p)
			if p.Required {
				req = append(req, p.Name)
			}
		}
		with := map[string]any{"type": "object", "additionalProperties": false, "properties": props}
		if len(req) > 0 {
			with["required"] = req
		}
		out = append(out, map[string]any{
			"if": map[string]any{
				"properties": map[string]any{"kind": map[string]any{"const": k.Name}},
				"required":   []string{"kind"},
			},
			"then": map[string]any{
				"description": k.Description,
				"properties":  map[string]any{"with": with},
			},
		})
	}
	return out
}

// paramSchema describes one parameter of a kind.
func paramSchema(p Param) map[string]any {
	var v map[string]any
	switch p.Type {
	case ParamString:
		v = map[string]any{"type": "string"}
		if len(p.Enum) > 0 {
			v["enum"] = p.Enum
		}
	case ParamBool:
		v = map[string]any{"type": "boolean"}
	case ParamInt:
		v = map[string]any{"type": "integer"}
	case ParamDuration:
		v = map[string]any{"type": "string", "pattern": durationPattern}
	case ParamStrings:
		item := map[string]any{"type": "string"}
		if len(p.Enum) > 0 {
			item["enum"] = p.Enum
		}
		v = map[string]any{"type": "array", "items": item}
	}
	v["description"] = p.Description
	if p.Default != nil {
		v["default"] = p.Default
	}
	return v
}

// kindNames lists the registered kinds' names, sorted.
func kindNames(reg *Registry) []string {
	var names []string
	for _, k := range reg.Kinds() {
		names = append(names, k.Name)
	}
	return names
}

// priorityNames lists the priority names ParsePriority reads, in the
// spellings detectors use: lower-case, capitalised and upper-case.
func priorityNames() []string {
	var out []string
	for p := alert.Debug; p <= alert.Emergency; p++ {
		n := p.String()
		out = append(out, n, strings.ToUpper(n[:1])+n[1:], strings.ToUpper(n))
	}
	return append(out, "info", "Info", "warn", "Warn")
}

// fieldDocs returns the doc comments of the types in playbook.go and of
// their fields, as "Type" and "Type.Field", each on one line.
func fieldDocs() map[string]string {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "playbook.go", typesSource, parser.ParseComments)
	if err != nil {
		panic(fmt.Sprintf("playbook schema: parse playbook.go: %v", err)) // embedded at build time
	}
	out := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		gd, ok := n.(*ast.GenDecl)
		if !ok || gd.Tok != token.TYPE {
			return true
		}
		for _, spec := range gd.Specs {
			ts := spec.(*ast.TypeSpec)
			if gd.Doc != nil {
				out[ts.Name.Name] = oneLine(gd.Doc.Text())
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				continue
			}
			for _, fld := range st.Fields.List {
				for _, name := range fld.Names {
					if fld.Doc != nil {
						out[ts.Name.Name+"."+name.Name] = oneLine(fld.Doc.Text())
					}
				}
			}
		}
		return false
	})
	return out
}

// oneLine joins a comment's lines into one paragraph.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
