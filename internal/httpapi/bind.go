package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// maxJSONBody caps request bodies of the JSON endpoints.
const maxJSONBody = 64 << 10

// decodeJSON reads the request body into dst, a request type (never a model):
// JSON only, one object, no unknown fields, right types, within the size cap.
// Every failure is a 4xx problem naming what is wrong.
func decodeJSON(c echo.Context, dst any) error {
	req := c.Request()
	mediaType, _, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil || mediaType != echo.MIMEApplicationJSON {
		return newError(http.StatusUnsupportedMediaType, "unsupported_media_type", "Unsupported media type", "send the body as application/json")
	}
	raw, err := io.ReadAll(http.MaxBytesReader(c.Response(), req.Body, maxJSONBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge
		}
		return err
	}
	// JSON is UTF-8; Go's decoder would quietly turn invalid bytes into
	// U+FFFD, so ids differing only there would become one.
	if !utf8.Valid(raw) {
		return invalid("the body is not valid UTF-8", nil)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge
		}
		return invalid("the body must hold exactly one JSON object", nil)
	}
	return nil
}

func jsonError(err error) error {
	var (
		mbe *http.MaxBytesError
		se  *json.SyntaxError
		te  *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return errTooLarge
	case errors.Is(err, io.EOF):
		return invalid("the request body is empty; send a JSON object", nil)
	case errors.As(err, &se):
		return invalid(fmt.Sprintf("malformed JSON at byte %d", se.Offset), nil)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("malformed JSON: the body ends early", nil)
	case errors.As(err, new(*time.ParseError)):
		return invalid("a time is not in RFC 3339 format, e.g. 2026-11-24T10:00:00Z", nil)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return invalid("the body must be a JSON object", nil)
		}
		return invalid("a field has the wrong type", map[string]string{field: "must be " + jsonKind(te.Type)})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalid("the body has a field this endpoint does not accept", map[string]string{name: "unknown field"})
	default:
		return invalid("the body is not valid JSON", nil)
	}
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer within range"
	case reflect.Bool:
		return "a boolean"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "of another type"
	}
}

// fieldErrors collects validation messages per field.
type fieldErrors map[string]string

// text checks a string field: required or not, at most max characters,
// valid UTF-8 and free of control characters.
func (f fieldErrors) text(field, value string, required bool, max int) {
	switch {
	case value == "" && required:
		f[field] = "is required"
	case !utf8.ValidString(value):
		f[field] = "must be valid UTF-8"
	case utf8.RuneCountInString(value) > max:
		f[field] = fmt.Sprintf("must be at most %d characters", max)
	case strings.IndexFunc(value, unicode.IsControl) >= 0:
		f[field] = "must not contain control characters"
	case required && strings.TrimSpace(value) == "":
		f[field] = "must not be blank"
	}
}

// err returns the collected failures as a 400, or nil.
func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return invalid("some fields are invalid", f)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("marshal response: %v", err))
	}
	return b
}
