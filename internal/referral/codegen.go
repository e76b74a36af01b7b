package referral

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// CodeAlphabet is the set generated codes are drawn from: upper-case letters
// and digits without the look-alikes 0, O, 1 and I.
const CodeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// CodeLength is the length of a generated code.
const CodeLength = 8

// MaxCodeLength bounds any code a client may send.
const MaxCodeLength = 64

// NewCodeGenerator returns a function producing random codes of CodeLength
// characters from CodeAlphabet, reading randomness from src (crypto/rand when
// nil). Each character is drawn without modulo bias by rejection sampling.
func NewCodeGenerator(src io.Reader) func() (string, error) {
	if src == nil {
		src = rand.Reader
	}
	return func() (string, error) {
		return randomString(src, CodeAlphabet, CodeLength)
	}
}

// randomString draws n characters uniformly from alphabet (at most 256 long).
func randomString(src io.Reader, alphabet string, n int) (string, error) {
	// The smallest all-ones mask covering the alphabet; bytes above it are rejected.
	mask := byte(1)
	for int(mask) < len(alphabet)-1 {
		mask = mask<<1 | 1
	}
	out := make([]byte, 0, n)
	buf := make([]byte, n*2)
	for len(out) < n {
		if _, err := io.ReadFull(src, buf); err != nil {
			return "", fmt.Errorf("read random bytes: %w", err)
		}
		for _, b := range buf {
			if idx := int(b & mask); idx < len(alphabet) {
				out = append(out, alphabet[idx])
				if len(out) == n {
					break
				}
			}
		}
	}
	return string(out), nil
}

// NormalizeCode returns the canonical form of a code a person typed: surrounding
// spaces removed, upper case (codes match case-insensitively).
func NormalizeCode(code string) string {
	return strings.ToUpper(strings.TrimSpace(code))
}

// idAlphabet is Crockford's base32, whose order matches byte order, so ids
// sort by creation time as strings.
const idAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// IDGenerator makes opaque, time-ordered identifiers: 48 bits of milliseconds
// followed by 80 random bits, in Crockford base32, behind a type prefix.
// Within one millisecond it increments the random part instead of drawing a
// new one, so ids made by one process sort in creation order.
type IDGenerator struct {
	rand io.Reader

	mu     sync.Mutex
	lastMS uint64
	last   [10]byte
}

// NewIDGenerator returns an IDGenerator reading randomness from src
// (crypto/rand when nil).
func NewIDGenerator(src io.Reader) *IDGenerator {
	if src == nil {
		src = rand.Reader
	}
	return &IDGenerator{rand: src}
}

// New returns a new id with the given prefix for an object created at t.
func (g *IDGenerator) New(prefix string, t time.Time) (string, error) {
	g.mu.Lock()
	ms := uint64(max(t.UnixMilli(), 0))
	if ms <= g.lastMS {
		ms = g.lastMS
		increment(g.last[:])
	} else if _, err := io.ReadFull(g.rand, g.last[:]); err != nil {
		g.mu.Unlock()
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	g.lastMS = ms
	var raw [16]byte
	binary.BigEndian.PutUint64(raw[0:8], ms<<16)
	copy(raw[6:], g.last[:])
	g.mu.Unlock()

	// 128 bits → 26 base32 digits (the first carries 3 bits).
	var sb strings.Builder
	sb.Grow(len(prefix) + 26)
	sb.WriteString(prefix)
	hi := binary.BigEndian.Uint64(raw[0:8])
	lo := binary.BigEndian.Uint64(raw[8:16])
	for i := 25; i >= 0; i-- {
		shift := uint(i * 5)
		var v uint64
		switch {
		case shift >= 64:
			v = hi >> (shift - 64)
		case shift > 59:
			v = lo>>shift | hi<<(64-shift)
		default:
			v = lo >> shift
		}
		sb.WriteByte(idAlphabet[v&31])
	}
	return sb.String(), nil
}

// increment adds one to a big-endian number, wrapping on overflow.
func increment(b []byte) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i]++
		if b[i] != 0 {
			return
		}
	}
}

// IDTime returns the creation time encoded in an id made by IDGenerator
// with the given prefix, and whether id has that shape.
func IDTime(id, prefix string) (time.Time, bool) {
	body, ok := strings.CutPrefix(id, prefix)
	if !ok || len(body) != 26 {
		return time.Time{}, false
	}
	var ms uint64
	for i := 0; i < 10; i++ { // the first 10 digits carry the 48-bit milliseconds (and 2 spare bits)
		d := strings.IndexByte(idAlphabet, body[i])
		if d < 0 {
			return time.Time{}, false
		}
		ms = ms<<5 | uint64(d)
	}
	if strings.Trim(body[10:], idAlphabet) != "" {
		return time.Time{}, false
	}
	return time.UnixMilli(int64(ms)).UTC(), true
}
