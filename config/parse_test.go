// SPDX-License-Identifier: Apache-2.0

package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

const testName = "virt-acl-helper.conf"

func parseString(s string) (Config, error) {
	return Parse(strings.NewReader(s), testName)
}

func TestParseGood(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want func(c *Config) // changes from Default; nil for none
	}{
		{name: "empty file", in: ""},
		{name: "blank lines", in: " \t\n\n\t \n"},
		{name: "comments only", in: "# a comment\n\n   # indented\n#cache_size = 1\n"},
		{name: "byte order mark only", in: "\ufeff"},
		{
			name: "byte order mark",
			in:   "\ufeffcache_size = 5\n",
			want: func(c *Config) { c.CacheSize = 5 },
		},
		{
			name: "CRLF line ends",
			in:   "# comment\r\ncache_size = 5\r\nlog_level = 1\r\n",
			want: func(c *Config) { c.CacheSize, c.LogLevel = 5, LogDebug },
		},
		{
			name: "no final newline",
			in:   "cache_size = 5",
			want: func(c *Config) { c.CacheSize = 5 },
		},
		{
			name: "no spaces and trailing comment",
			in:   "cache_size=5# five\n",
			want: func(c *Config) { c.CacheSize = 5 },
		},
		{
			name: "leading whitespace",
			in:   "\t  cache_size = 5\n",
			want: func(c *Config) { c.CacheSize = 5 },
		},
		{
			name: "signed integers",
			in:   "cache_size = +5\nidle_timeout = -0\n",
			want: func(c *Config) { c.CacheSize, c.IdleTimeout = 5, 0 },
		},
		{
			name: "array across lines with comments and trailing comma",
			in:   "access_drivers = [\n  \"none\", # first\n  # between\n\n  \"polkit\",\n]\n",
			want: func(c *Config) { c.AccessDrivers = []string{"none", "polkit"} },
		},
		{
			name: "array on one line without spaces",
			in:   `access_drivers=["polkit","none"]`,
			want: func(c *Config) { c.AccessDrivers = []string{"polkit", "none"} },
		},
		{
			name: "single-quoted and triple-quoted strings",
			in:   "access_drivers = [ 'none', \"\"\"polkit\"\"\" ]\n",
			want: func(c *Config) { c.AccessDrivers = []string{"none", "polkit"} },
		},
		{
			name: "none alone",
			in:   `access_drivers = [ "none" ]`,
			want: func(c *Config) { c.AccessDrivers = []string{"none"} },
		},
		{
			name: "every key",
			in: `access_drivers = [ "none", "polkit" ]
cache_size = 1
cache_allow_ttl = 2
cache_deny_ttl = 3
audit_level = 2
audit_logging = 1
polkit_timeout = 4
idle_timeout = 5
max_clients = 6
max_message_size = 7000
max_objects = 8
client_timeout = 9
log_level = 4
restrict_object_details = 1
rate_limit = 10
rate_limit_burst = 11
max_clients_per_user = 12
max_clients_reserved = 13
client_max_lifetime = 14
max_large_requests = 15
polkit_max_calls = 16
guard_idle_timeout = 17
guard_max_event_callbacks = 18
xml_policy = "/srv/policy.toml"
allow_host_path_calls = 1
`,
			want: func(c *Config) {
				*c = Config{
					AccessDrivers:  []string{"none", "polkit"},
					CacheSize:      1,
					CacheAllowTTL:  2 * time.Second,
					CacheDenyTTL:   3 * time.Second,
					AuditLevel:     AuditRequired,
					AuditLogging:   true,
					PolkitTimeout:  4 * time.Second,
					IdleTimeout:    5 * time.Second,
					MaxClients:     6,
					MaxMessageSize: 7000,
					MaxObjects:     8,
					ClientTimeout:  9 * time.Second,
					LogLevel:       LogError,

					RestrictObjectDetails: true,
					RateLimit:             10,
					RateLimitBurst:        11,
					MaxClientsPerUser:     12,
					MaxClientsReserved:    13,
					ClientMaxLifetime:     14 * time.Second,
					MaxLargeRequests:      15,
					PolkitMaxCalls:        16,
					GuardIdleTimeout:      17 * time.Second,

					XMLPolicy:              "/srv/policy.toml",
					AllowHostPathCalls:     true,
					GuardMaxEventCallbacks: 18,
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseString(tt.in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := Default()
			if tt.want != nil {
				tt.want(&want)
			}
			if !reflect.DeepEqual(want, got) {
				t.Errorf("Parse:\nwant %+v\ngot  %+v", want, got)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // the whole message, without the "virt-acl-helper.conf:" prefix
	}{
		// Keys.
		{"unknown key with suggestion", "# a\n\ncache_sise = 1\n", `3: cache_sise: unknown key (did you mean cache_size?)`},
		{"unknown key in wrong case", "Cache_Size = 1", `1: Cache_Size: unknown key (did you mean cache_size?)`},
		{"unknown key with dashes", "cache-size = 1", `1: cache-size: unknown key (did you mean cache_size?)`},
		{"unknown key far from any", "frobnicate = 1", `1: frobnicate: unknown key`},
		{"duplicate key", "cache_size = 1\n\ncache_size = 2\n", `3: cache_size: set twice, first on line 1`},
		{"dotted key", "cache.size = 1", `1: cache.size: dotted keys are not supported`},
		{"quoted key", `"cache_size" = 1`, `1: cache_size: quoted keys are not supported`},
		{"literal quoted key", `'cache_size' = 1`, `1: cache_size: quoted keys are not supported`},
		{"table", "cache_size = 1\n[cache]\nsize = 1\n", `2: tables are not supported: write plain key = value lines`},
		{"array of tables", "\n[[cache]]\n", `2: tables are not supported: write plain key = value lines`},

		// Integer types and forms.
		{"string for integer", `audit_level = "2"`, `1: audit_level: must be an integer, got string "2"`},
		{"literal string for integer", `audit_level = '2'`, `1: audit_level: must be an integer, got string "2"`},
		{"multi-line string for integer", "audit_level = \"\"\"\n2\n\"\"\"", `1: audit_level: must be an integer, got string "2\n"`},
		{"long value", "cache_size = " + strings.Repeat("9", 100), `1: cache_size: must be between 0 and 10000000, got ` + strings.Repeat("9", 64) + "..."},
		{"long unknown key", strings.Repeat("k", 100) + " = 1", `1: ` + strings.Repeat("k", 64) + `...: unknown key`},
		{"quoted key with odd characters", `"a\nb" = 1`, `1: "a\nb": quoted keys are not supported`},
		{"long driver name", `access_drivers = [ "` + strings.Repeat("x", 100) + `" ]`, `1: access_drivers: unknown value "` + strings.Repeat("x", 64) + `...", expected one of "none", "polkit"`},
		{"boolean", "audit_logging = true", `1: audit_logging: must be an integer (libvirt writes booleans as 0 or 1), got boolean true`},
		{"float", "cache_allow_ttl = 1.5", `1: cache_allow_ttl: must be an integer, got floating-point number 1.5`},
		{"float exponent", "cache_size = 1e3", `1: cache_size: must be an integer, got floating-point number 1e3`},
		{"nan", "cache_size = nan", `1: cache_size: must be an integer, got floating-point number nan`},
		{"inf", "cache_size = -inf", `1: cache_size: must be an integer, got floating-point number -inf`},
		{"date", "idle_timeout = 1979-05-27", `1: idle_timeout: must be an integer, got date or time 1979-05-27`},
		{"time", "idle_timeout = 07:32:00", `1: idle_timeout: must be an integer, got date or time 07:32:00`},
		{"date-time", "idle_timeout = 1979-05-27T07:32:00Z", `1: idle_timeout: must be an integer, got date or time 1979-05-27T07:32:00Z`},
		{"inline table", "max_clients = { a = 1 }", `1: max_clients: must be an integer, got inline table`},
		{"list for integer", "max_clients = [ 1 ]", `1: max_clients: must be an integer, got list`},
		{"underscores", "cache_size = 1_000", `1: cache_size: must be a decimal integer, got 1_000`},
		{"hex", "cache_size = 0x10", `1: cache_size: must be a decimal integer, got 0x10`},
		{"octal", "cache_size = 0o7", `1: cache_size: must be a decimal integer, got 0o7`},
		{"binary", "cache_size = 0b1", `1: cache_size: must be a decimal integer, got 0b1`},
		{"overflow", "cache_size = 99999999999999999999", `1: cache_size: must be between 0 and 10000000, got 99999999999999999999`},
		{"negative overflow", "cache_size = -99999999999999999999", `1: cache_size: must be between 0 and 10000000, got -99999999999999999999`},
		{"example from the brief", "\n\n\n\n\n\ncache_deny_ttl = 99999\n", `7: cache_deny_ttl: must be between 0 and 3600, got 99999`},

		// access_drivers.
		{"string for list", `access_drivers = "polkit"`, `1: access_drivers: must be a list of strings, got string "polkit"`},
		{"integer for list", `access_drivers = 1`, `1: access_drivers: must be a list of strings, got integer 1`},
		{"empty list", `access_drivers = [ ]`, `1: access_drivers: must not be empty`},
		{"empty list across lines", "access_drivers = [\n# nothing\n]", `1: access_drivers: must not be empty`},
		{"unknown driver", "access_drivers = [\n  \"polkit\",\n  \"polkti\",\n]\n", `3: access_drivers: unknown value "polkti", expected one of "none", "polkit"`},
		{"empty driver name", `access_drivers = [ "" ]`, `1: access_drivers: unknown value "", expected one of "none", "polkit"`},
		{"driver in wrong case", `access_drivers = [ "Polkit" ]`, `1: access_drivers: unknown value "Polkit", expected one of "none", "polkit"`},
		{"duplicate driver", "access_drivers = [\n\"polkit\",\n\"polkit\" ]", `3: access_drivers: "polkit" is listed twice`},
		{"integer element", "access_drivers = [ \"none\",\n 1 ]", `2: access_drivers: element 2 must be a string, got integer 1`},
		{"nested list", `access_drivers = [ [ "polkit" ] ]`, `1: access_drivers: element 1 must be a string, got list`},
		{"deeply nested list", "access_drivers = [ 'none', " + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + " ]", `1: access_drivers: element 2 must be a string, got list`},
		{"inline table in list", `access_drivers = [ { a = "polkit" } ]`, `1: access_drivers: element 1 must be a string, got inline table`},
		{"escape sequence", `access_drivers = [ "pol\u006bit" ]`, `1: access_drivers: backslashes are not supported in strings`},
		{"escaped quote", `access_drivers = [ "a\"b" ]`, `1: access_drivers: backslashes are not supported in strings`},
		{"literal string keeps backslash", `access_drivers = [ 'a\b' ]`, `1: access_drivers: unknown value "a\\b", expected one of "none", "polkit"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseString(tt.in)
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			if want, got := testName+":"+tt.want, err.Error(); want != got {
				t.Errorf("error:\nwant %s\ngot  %s", want, got)
			}
		})
	}
}

// Syntax errors come from the tokenizer, whose wording may change between
// versions; the tests pin the line and the prefix, not the wording.
func TestParseSyntaxErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		line int
	}{
		{"missing value", "# c\ncache_size =\n", 2},
		{"missing equals", "cache_size 5\n", 1},
		{"missing key", "\n= 5\n", 2},
		{"semicolon separator", "cache_size = 1; log_level = 1\n", 1},
		{"two values", "cache_size = 1 2\n", 1},
		{"unterminated string", "\naccess_drivers = [ \"polkit ]\n", 2},
		{"unterminated list", "cache_size = 1\naccess_drivers = [ \"polkit\",\n", 2},
		{"missing comma", "access_drivers = [\n\"none\"\n\"polkit\" ]\n", 3},
		{"lone carriage return", "cache_size = 1\rlog_level = 1\n", 1},
		{"NUL byte", "cache_size = 1\n\x00\n", 2},
		{"NUL in comment", "# \x00\n", 1},
		{"invalid UTF-8 in string", "access_drivers = [ \"\xff\" ]\n", 1},
		{"second byte order mark", "\ufeff\ufeffcache_size = 1\n", 1},
		{"bare word", "polkit\n", 1},
		{"value on next line", "cache_size =\n5\n", 1},
		{"nesting beyond the tokenizer's limit", "\naccess_drivers = " + strings.Repeat("[", 10001) + strings.Repeat("]", 10001), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseString(tt.in)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse error %v is not an *Error", err)
			}
			prefix := fmt.Sprintf("%s:%d: syntax error: ", testName, tt.line)
			if !strings.HasPrefix(e.Error(), prefix) {
				t.Errorf("error %q does not start with %q", e.Error(), prefix)
			}
			if e.Line != tt.line || e.Key != "" || e.File != testName {
				t.Errorf("error fields: want File %q, Line %d, Key \"\"; got %q, %d, %q",
					testName, tt.line, e.File, e.Line, e.Key)
			}
		})
	}
}

func TestParseSemicolonHint(t *testing.T) {
	_, err := parseString("cache_size = 1; log_level = 1\n")
	if err == nil || !strings.HasSuffix(err.Error(), "(put each setting on its own line)") {
		t.Errorf("error %v does not explain the semicolon", err)
	}
}

func TestParseErrorFields(t *testing.T) {
	_, err := parseString("cache_size = 1\naudit_level = 7\n")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Parse error %v is not an *Error", err)
	}
	want := &Error{File: testName, Line: 2, Key: "audit_level", Msg: "must be between 0 and 2, got 7"}
	if !reflect.DeepEqual(want, e) {
		t.Errorf("error:\nwant %+v\ngot  %+v", want, e)
	}
}

// integerKeys lists every integer key's bounds and field, written out here
// rather than taken from the key table so that a changed bound fails a test.
var integerKeys = []struct {
	key      string
	min, max int64
	field    func(Config) int64
}{
	{"cache_size", 0, 10_000_000, func(c Config) int64 { return int64(c.CacheSize) }},
	{"cache_allow_ttl", 0, 3600, func(c Config) int64 { return int64(c.CacheAllowTTL / time.Second) }},
	{"cache_deny_ttl", 0, 3600, func(c Config) int64 { return int64(c.CacheDenyTTL / time.Second) }},
	{"audit_level", 0, 2, func(c Config) int64 { return int64(c.AuditLevel) }},
	{"audit_logging", 0, 1, func(c Config) int64 {
		if c.AuditLogging {
			return 1
		}
		return 0
	}},
	{"polkit_timeout", 1, 120, func(c Config) int64 { return int64(c.PolkitTimeout / time.Second) }},
	{"idle_timeout", 0, 86400, func(c Config) int64 { return int64(c.IdleTimeout / time.Second) }},
	{"guard_idle_timeout", 0, 86400, func(c Config) int64 { return int64(c.GuardIdleTimeout / time.Second) }},
	{"guard_max_event_callbacks", 1, 65536, func(c Config) int64 { return int64(c.GuardMaxEventCallbacks) }},
	{"max_clients", 1, 65536, func(c Config) int64 { return int64(c.MaxClients) }},
	{"max_message_size", 1024, 32 << 20, func(c Config) int64 { return int64(c.MaxMessageSize) }},
	{"max_objects", 1, 1_000_000, func(c Config) int64 { return int64(c.MaxObjects) }},
	{"client_timeout", 1, 3600, func(c Config) int64 { return int64(c.ClientTimeout / time.Second) }},
	{"log_level", 1, 4, func(c Config) int64 { return int64(c.LogLevel) }},
	{"restrict_object_details", 0, 1, func(c Config) int64 { return boolInt(c.RestrictObjectDetails) }},
	{"rate_limit", 0, 1_000_000, func(c Config) int64 { return int64(c.RateLimit) }},
	{"rate_limit_burst", 1, 10_000_000, func(c Config) int64 { return int64(c.RateLimitBurst) }},
	{"max_clients_per_user", 1, 65536, func(c Config) int64 { return int64(c.MaxClientsPerUser) }},
	{"max_clients_reserved", 0, 65536, func(c Config) int64 { return int64(c.MaxClientsReserved) }},
	{"client_max_lifetime", 0, 86400, func(c Config) int64 { return int64(c.ClientMaxLifetime / time.Second) }},
	{"max_large_requests", 1, 1024, func(c Config) int64 { return int64(c.MaxLargeRequests) }},
	{"polkit_max_calls", 1, 120, func(c Config) int64 { return int64(c.PolkitMaxCalls) }},
	{"allow_host_path_calls", 0, 1, func(c Config) int64 { return boolInt(c.AllowHostPathCalls) }},
	{"guard_create_own", 0, 1, func(c Config) int64 { return boolInt(c.GuardCreateOwn) }},
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func TestIntegerBounds(t *testing.T) {
	for _, k := range integerKeys {
		for _, n := range []int64{k.min, k.max} {
			t.Run(fmt.Sprintf("%s=%d", k.key, n), func(t *testing.T) {
				c, err := parseString(fmt.Sprintf("\n%s = %d\n", k.key, n))
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if got := k.field(c); got != n {
					t.Errorf("field: want %d, got %d", n, got)
				}
			})
		}
		for _, n := range []int64{k.min - 1, k.max + 1} {
			t.Run(fmt.Sprintf("%s=%d", k.key, n), func(t *testing.T) {
				_, err := parseString(fmt.Sprintf("\n%s = %d\n", k.key, n))
				want := fmt.Sprintf("%s:2: %s: must be between %d and %d, got %d", testName, k.key, k.min, k.max, n)
				if err == nil || err.Error() != want {
					t.Errorf("error:\nwant %s\ngot  %v", want, err)
				}
			})
		}
		t.Run(k.key+" as string", func(t *testing.T) {
			_, err := parseString(fmt.Sprintf("%s = \"%d\"", k.key, k.min))
			want := fmt.Sprintf("%s:1: %s: must be an integer, got string \"%d\"", testName, k.key, k.min)
			if err == nil || err.Error() != want {
				t.Errorf("error:\nwant %s\ngot  %v", want, err)
			}
		})
	}
}

func TestEveryKeyIsTested(t *testing.T) {
	tested := map[string]bool{"access_drivers": true, "xml_policy": true} // TestPathKey
	for _, k := range integerKeys {
		tested[k.key] = true
	}
	for _, s := range settings() {
		if !tested[s.name] {
			t.Errorf("key %s has no bounds test", s.name)
		}
		delete(tested, s.name)
	}
	for name := range tested {
		t.Errorf("tested key %s is not in the key table", name)
	}
}

func TestParseTooLarge(t *testing.T) {
	in := strings.Repeat("#", maxFileSize+1)
	_, err := parseString(in)
	want := fmt.Sprintf("%s: larger than %d bytes", testName, maxFileSize)
	if err == nil || err.Error() != want {
		t.Errorf("error:\nwant %s\ngot  %v", want, err)
	}
	if _, err := parseString(in[1:]); err != nil {
		t.Errorf("Parse of a comment of %d bytes: %v", maxFileSize, err)
	}
}

type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

func TestParseReadError(t *testing.T) {
	cause := errors.New("input/output error")
	_, err := Parse(failingReader{cause}, testName)
	if !errors.Is(err, cause) {
		t.Errorf("error %v does not wrap %v", err, cause)
	}
	if want := testName + ": cannot read: input/output error"; err == nil || err.Error() != want {
		t.Errorf("error:\nwant %s\ngot  %v", want, err)
	}
}

// Line numbers once cost a rescan of the input per node, which made a
// 1 MiB list take minutes. A linear parse takes milliseconds.
func TestParseLargeInputIsFast(t *testing.T) {
	tests := []struct{ name, in string }{
		{"long list", "access_drivers = [\n" + strings.Repeat("'none',\n", maxFileSize/10) + "]\n"},
		{"deep nesting", "access_drivers = " + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + "\n"},
		{"many comment lines", strings.Repeat("#\n", maxFileSize/2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, _ = parseString(tt.in)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Parse of %d bytes took %v", len(tt.in), d)
			}
		})
	}
}

// TestPathKey: xml_policy takes an absolute clean path or "" (off), and
// nothing else.
func TestPathKey(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: `xml_policy = "/etc/x.toml"`, want: "/etc/x.toml"},
		{in: `xml_policy = ""`, want: ""},
		{in: `xml_policy = "x.toml"`, err: testName + `:1: xml_policy: must be an absolute, clean path (or "" for none), got "x.toml"`},
		{in: `xml_policy = "/etc/../x.toml"`, err: testName + `:1: xml_policy: must be an absolute, clean path (or "" for none), got "/etc/../x.toml"`},
		{in: `xml_policy = 1`, err: testName + `:1: xml_policy: must be a string, got integer 1`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c, err := parseString(tt.in)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Errorf("error:\nwant %s\ngot  %v", tt.err, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.XMLPolicy != tt.want {
				t.Errorf("XMLPolicy = %q, want %q", c.XMLPolicy, tt.want)
			}
		})
	}
}
