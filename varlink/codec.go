// SPDX-License-Identifier: Apache-2.0

package varlink

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// DefaultMaxMessageSize bounds a message when no limit is given.
const DefaultMaxMessageSize = 4 << 20

// ErrTooLarge means a message exceeded the reader's limit before its NUL.
var ErrTooLarge = errors.New("message too large")

// Reader reads NUL-terminated messages of at most a given size.
type Reader struct {
	r   *bufio.Reader
	max int
	// large is the buffer of the last message that did not fit the read
	// buffer, until the next read or Release.
	large []byte
	// onLarge, when set, is called as a message grows past LargeMessage;
	// its error fails the read. It may return a spare buffer, which the
	// message moves into if it has room (Release gives it back).
	onLarge func() ([]byte, error)
}

// Release returns the buffer of the last message, if it was gathered in
// one of its own (past the read buffer), for a later message to reuse;
// the message is not to be used after it.
func (r *Reader) Release() []byte {
	b := r.large
	r.large = nil
	return b
}

// NewReader returns a Reader of messages of at most max bytes (not
// counting the NUL); max <= 0 means DefaultMaxMessageSize.
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = DefaultMaxMessageSize
	}
	return &Reader{r: bufio.NewReaderSize(r, 4096), max: max}
}

// ReadMessage returns the next message without its NUL. It fails with
// ErrTooLarge as soon as more than the limit has arrived without a NUL,
// and with io.ErrUnexpectedEOF when the stream ends inside a message.
//
// The message is valid only until the next ReadMessage: one that arrived
// whole in the read buffer is returned in place, without a copy. What is
// decoded from it owns its memory (the JSON decoder copies every string
// and raw value), so only the message itself must not be kept.
func (r *Reader) ReadMessage() ([]byte, error) {
	r.large = nil
	chunk, err := r.r.ReadSlice(0)
	if err == nil && len(chunk) <= r.max+1 {
		return chunk[:len(chunk)-1], nil
	}
	return r.readRest(chunk, err)
}

// minLarge is the first size of a large message's buffer; it doubles
// from there, so that gathering a message of n bytes copies and
// allocates about 2n, not the 5n that append's gentler growth took.
const minLarge = 64 << 10

// readRest reads on a message that did not fit the read buffer, from its
// first chunk and the error that cut it, gathering it in a buffer of its
// own, or a spare one onLarge gives.
func (r *Reader) readRest(chunk []byte, err error) ([]byte, error) {
	var msg []byte
	for first := true; ; first = false {
		if !first {
			chunk, err = r.r.ReadSlice(0)
		}
		if len(msg)+len(chunk) > r.max+1 {
			return nil, fmt.Errorf("%w: more than %d bytes without a NUL terminator", ErrTooLarge, r.max)
		}
		msg = append(r.grow(msg, len(chunk)), chunk...)
		if r.onLarge != nil && len(msg) > LargeMessage {
			spare, lerr := r.onLarge()
			if lerr != nil {
				return nil, lerr
			}
			if cap(spare) > len(msg) {
				msg = append(spare[:0], msg...)
			}
		}
		switch {
		case err == nil:
			r.large = msg
			return msg[:len(msg)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(msg) > 0:
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}

// grow returns msg with room for n more bytes: double its capacity, at
// least minLarge, at most the limit (and its NUL), unless n needs more.
func (r *Reader) grow(msg []byte, n int) []byte {
	if cap(msg)-len(msg) >= n {
		return msg
	}
	size := max(min(max(2*cap(msg), minLarge), r.max+1), len(msg)+n)
	return append(make([]byte, 0, size), msg...)
}

// DecodeCall decodes one message as a method call. The error says what is
// wrong, for the InvalidRequest reply.
func DecodeCall(msg []byte) (Call, error) {
	if !utf8.Valid(msg) {
		return Call{}, errors.New("message is not valid UTF-8")
	}
	trimmed := bytes.TrimLeft(msg, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return Call{}, errors.New("message is not a JSON object")
	}
	// Other members of the call are ignored, as they were with
	// encoding/json; one named twice, or a name in another case, is not
	// read as one of these (see strict).
	var wire struct {
		Method     *string        `json:"method"`
		Parameters jsontext.Value `json:"parameters"`
		Oneway     bool           `json:"oneway"`
		More       bool           `json:"more"`
		Upgrade    bool           `json:"upgrade"`
	}
	if err := json.Unmarshal(msg, &wire); err != nil {
		return Call{}, fmt.Errorf("malformed call: %v", err)
	}
	if wire.Method == nil || *wire.Method == "" {
		return Call{}, errors.New("call names no method")
	}
	if err := checkMethodName(*wire.Method); err != nil {
		return Call{}, err
	}
	p := bytes.TrimSpace(wire.Parameters)
	if len(p) > 0 && p[0] != '{' && !bytes.Equal(p, []byte("null")) {
		return Call{}, errors.New("parameters are not a JSON object")
	}
	return Call{Method: *wire.Method, Parameters: wire.Parameters,
		Oneway: wire.Oneway, More: wire.More, Upgrade: wire.Upgrade}, nil
}

// maxMethodName bounds a method name: an interface name (at most 255
// bytes by the spec) and a member.
const maxMethodName = 512

// checkMethodName accepts "interface.Member" made of the characters the
// varlink grammar allows, without judging the finer grammar: an unknown
// name is answered with InterfaceNotFound or MethodNotFound.
func checkMethodName(m string) error {
	if len(m) > maxMethodName {
		return fmt.Errorf("method name of %d bytes is too long", len(m))
	}
	dot := bytes.LastIndexByte([]byte(m), '.')
	if dot <= 0 || dot == len(m)-1 {
		return fmt.Errorf("method %q is not of the form interface.Method", clip(m))
	}
	for _, c := range []byte(m) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return fmt.Errorf("method %q contains %q", clip(m), c)
		}
	}
	return nil
}

// clip shortens text from a client before it goes into an error or a log.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// strict are the options of every decoding of a call's parameters: a
// member the parameter type does not have is refused. The JSON decoder
// refuses by default what else a client could use to be read in two ways:
// a member named twice (encoding/json took the last), a member named in
// another case than the field's (encoding/json matched regardless of
// case), invalid UTF-8, and data after the value.
func strict() json.Options { return json.RejectUnknownMembers(true) }

// marshal marshals v as every message sent is. Map members are sorted, as
// encoding/json did, so that a reply is the same bytes every time; and
// invalid UTF-8 in a string (an error text that cut a character) is sent
// as U+FFFD, as encoding/json did, rather than failing the whole reply.
// (The options are passed one by one: joining them would allocate.)
func marshal(v any) ([]byte, error) {
	return json.Marshal(v, json.Deterministic(true), jsontext.AllowInvalidUTF8(true))
}

// encode marshals v as one message, NUL included.
func encode(v any) ([]byte, error) {
	b, err := marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, 0), nil
}
