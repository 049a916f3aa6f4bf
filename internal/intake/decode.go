package intake

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
)

// jsonSpace holds the bytes JSON treats as whitespace between tokens.
const jsonSpace = " \t\r\n"

// decodeBody decodes body, exactly one JSON object, into v, keeping
// numbers decoded into interface values as json.Number so that no
// precision is lost. With strict, unknown keys are errors. Errors name
// payload.
func decodeBody(payload string, body []byte, v any, strict bool) error {
	trimmed := bytes.TrimLeft(body, jsonSpace)
	if len(bytes.TrimRight(trimmed, jsonSpace)) == 0 {
		return problem(payload, "empty body")
	}
	if err := checkDepth(payload, body); err != nil {
		return err
	}
	if t := rawType(trimmed); t != "object" && t != "" {
		return problem(payload, "invalid JSON: want an object, got %s", t)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return decodeError(payload, "", err)
	}
	end := dec.InputOffset()
	if rest := bytes.TrimLeft(body[end:], jsonSpace); len(rest) > 0 {
		return problem(payload, "invalid JSON at offset %d: data after the object", len(body)-len(rest))
	}
	return nil
}

// decodeValue decodes one JSON value already checked by decodeBody (an
// element of a list, say) into v; path names it in errors.
func decodeValue(payload, path string, raw []byte, v any, strict bool) error {
	if t := rawType(bytes.TrimLeft(raw, jsonSpace)); t != "object" {
		return fieldProblem(payload, path, "want an object, got %s", t)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return decodeError(payload, path, err)
	}
	return nil
}

// decodeError says what is wrong with a value encoding/json refused; path
// is where the decoded value sits in the payload.
func decodeError(payload, path string, err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return problem(payload, "invalid JSON at offset %d: %v", syntax.Offset, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return problem(payload, "invalid JSON: %v", err)
	case errors.As(err, &typ):
		return fieldProblem(payload, joinPath(path, typ.Field), "want %s, got %s", want(typ.Type), typ.Value)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if path != "" {
			return fieldProblem(payload, path, "unknown field %s", name)
		}
		return problem(payload, "unknown field %s", name)
	}
	return problem(payload, "invalid JSON: %v", err)
}

// joinPath joins a path and a field encoding/json names with dots.
func joinPath(path, field string) string {
	switch {
	case path == "":
		return field
	case field == "":
		return path
	}
	return path + "." + field
}

// checkDepth refuses a body whose objects and arrays nest deeper than
// MaxDepth, before any decoder walks it.
func checkDepth(payload string, body []byte) error {
	depth, inString, escaped := 0, false, false
	for i, c := range body {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if depth++; depth > MaxDepth {
				return problem(payload, "invalid JSON at offset %d: nested deeper than %d levels", i, MaxDepth)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

// rawType names the JSON type of a raw value from its first byte, or ""
// when that byte starts no JSON value (the decoder then says why).
func rawType(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch c := raw[0]; {
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == '"':
		return "string"
	case c == 't' || c == 'f':
		return "bool"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "number"
	}
	return ""
}

// want names the JSON value a Go type wants.
func want(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return want(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Bool:
		return "a bool"
	case reflect.Slice:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return t.String()
}

// jsonType names the JSON type of a value decoded with UseNumber.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return reflect.TypeOf(v).String()
}
