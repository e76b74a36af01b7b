package httpapi_test

import (
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
)

// TestMutatedInputNeverFailsTheServer sends seeded random mutations of valid
// requests: every answer must be documented by the spec and none a 5xx. A
// failure prints the seed and the request, so it can be replayed.
func TestMutatedInputNeverFailsTheServer(t *testing.T) {
	const seed = 20261124
	eachBackend(t, serverOpts{}, func(t *testing.T, s *server) {
		rng := rand.New(rand.NewPCG(seed, 1))
		code := getCode(t, s, "owner").Code
		backend := s.token("backend", "service")
		user := s.token("owner")
		bodies := map[string]string{
			"/v1/referrals": `{"referredUserId":"u2","code":"` + code + `","email":"a@b.co","ip":"10.0.0.1","userAgent":"x"}`,
			"/v1/payments":  `{"paymentId":"p1","userId":"u2","amount":100,"currency":"usd"}`,
		}
		fragments := []string{`"`, `{`, `}`, `[`, `]`, `:`, `,`, `null`, `true`, `-1`, `1e400`, `99999999999999999999`, `"\u0000"`, `"\ud800"`, "\xff\xfe", `"é"`, strings.Repeat("A", 300), `{"a":{"b":[1,2,{}]}}`}
		mutate := func(b string) string {
			out := []byte(b)
			for range 1 + rng.IntN(4) {
				switch pos := rng.IntN(len(out) + 1); rng.IntN(4) {
				case 0: // delete a byte
					if pos < len(out) {
						out = append(out[:pos], out[pos+1:]...)
					}
				case 1: // insert a fragment
					f := fragments[rng.IntN(len(fragments))]
					out = append(out[:pos], append([]byte(f), out[pos:]...)...)
				case 2: // truncate
					out = out[:pos]
				default: // flip a byte
					if pos < len(out) {
						out[pos] = byte(rng.IntN(256))
					}
				}
			}
			return string(out)
		}
		for i := range 150 {
			for path, body := range bodies {
				req := request{method: "POST", path: path, token: backend, body: mutate(body)}
				if res := s.do(t, req); res.Status >= 500 {
					t.Fatalf("seed %d, case %d: POST %s %q → %d %s", seed, i, path, req.body, res.Status, res.Body)
				}
			}
			q := url.Values{}
			q.Set([]string{"status", "limit", "cursor"}[rng.IntN(3)], mutate("QUALIFIED"))
			req := request{method: "GET", path: "/v1/me/referrals?" + q.Encode(), token: user}
			if res := s.do(t, req); res.Status >= 500 {
				t.Fatalf("seed %d, case %d: GET %s → %d %s", seed, i, req.path, res.Status, res.Body)
			}
		}
	})
}
