package telemetry

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// CheckOTelEnv checks the OTEL_* variables the service's tracing reads.
// The SDK itself only logs a value it cannot use and carries on with its
// default (an endpoint without a scheme silently becomes localhost:4318),
// so a typo would turn tracing off without anyone noticing; here it stops
// the start, naming the variable. Unset variables are not checked.
func CheckOTelEnv(getenv func(string) string) error {
	for _, c := range otelChecks {
		for _, name := range c.names {
			v := getenv(name)
			if v == "" {
				continue
			}
			if err := c.check(v); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	if s := strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER")); strings.HasSuffix(s, "traceidratio") {
		if arg := getenv("OTEL_TRACES_SAMPLER_ARG"); arg != "" {
			if f, err := strconv.ParseFloat(strings.TrimSpace(arg), 64); err != nil || f < 0 || f > 1 {
				return fmt.Errorf("OTEL_TRACES_SAMPLER_ARG: %q is not a ratio from 0 to 1", arg)
			}
		}
	}
	if _, err := propagators(getenv("OTEL_PROPAGATORS")); err != nil {
		return err
	}
	return nil
}

type otelCheck struct {
	names []string
	check func(string) error
}

// both is a variable and its traces-only twin.
func both(suffix string) []string {
	return []string{"OTEL_EXPORTER_OTLP_" + suffix, "OTEL_EXPORTER_OTLP_TRACES_" + suffix}
}

var otelChecks = []otelCheck{
	{[]string{"OTEL_SDK_DISABLED"}, oneOf("true", "false")},
	{[]string{"OTEL_TRACES_EXPORTER"}, oneOf("otlp", "console", "none")},
	{both("PROTOCOL"), oneOf("http/protobuf", "grpc")},
	{both("ENDPOINT"), endpointURL},
	{both("HEADERS"), keyValues},
	{both("TIMEOUT"), nonNegativeInt},
	{both("COMPRESSION"), oneOf("gzip", "none")},
	{both("INSECURE"), oneOf("true", "false")},
	{append(append(both("CERTIFICATE"), both("CLIENT_CERTIFICATE")...), both("CLIENT_KEY")...), readableFile},
	{[]string{"OTEL_TRACES_SAMPLER"}, oneOf("always_on", "always_off", "traceidratio",
		"parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio")},
	{[]string{"OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_EXPORT_TIMEOUT", "OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
		"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_ATTRIBUTE_COUNT_LIMIT", "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
		"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "OTEL_SPAN_EVENT_COUNT_LIMIT", "OTEL_SPAN_LINK_COUNT_LIMIT",
		"OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT"}, nonNegativeInt},
	{[]string{"OTEL_RESOURCE_ATTRIBUTES"}, keyValues},
}

func oneOf(values ...string) func(string) error {
	return func(v string) error {
		for _, ok := range values {
			if strings.EqualFold(strings.TrimSpace(v), ok) {
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %s", v, strings.Join(values, ", "))
	}
}

func endpointURL(v string) error {
	u, err := url.Parse(strings.TrimSpace(v))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http:// or https:// URL (e.g. http://otel-collector:4318)", v)
	}
	return nil
}

// keyValues checks the W3C baggage-like list OTEL_*_HEADERS and
// OTEL_RESOURCE_ATTRIBUTES use: key=value pairs, comma-separated, values
// percent-encoded.
func keyValues(v string) error {
	for pair := range strings.SplitSeq(v, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		key, value, ok := strings.Cut(pair, "=")
		if !ok || strings.TrimSpace(key) == "" {
			return fmt.Errorf("%q is not a key=value pair", pair)
		}
		if _, err := url.PathUnescape(value); err != nil {
			return fmt.Errorf("the value of %q is not percent-encoded: %w", strings.TrimSpace(key), err)
		}
	}
	return nil
}

func nonNegativeInt(v string) error {
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err != nil || n < 0 {
		return fmt.Errorf("%q is not a whole number of 0 or more", v)
	}
	return nil
}

func readableFile(v string) error {
	f, err := os.Open(v)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", v, errors.Unwrap(err))
	}
	return f.Close()
}
