// SPDX-License-Identifier: Apache-2.0

package varlink

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// DefaultMaxMessageSize bounds a message when no limit is given.
const DefaultMaxMessageSize = 4 << 20

// ErrTooLarge means a message exceeded the reader's limit before its NUL.
var ErrTooLarge = errors.New("message too large")

// Reader reads NUL-terminated messages of at most a given size.
type Reader struct {
	r   *bufio.Reader
	max int
	// onLarge, when set, is called once a message grows past
	// LargeMessage; its error fails the read.
	onLarge func() error
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
func (r *Reader) ReadMessage() ([]byte, error) {
	var msg []byte
	for {
		chunk, err := r.r.ReadSlice(0)
		if len(msg)+len(chunk) > r.max+1 {
			return nil, fmt.Errorf("%w: more than %d bytes without a NUL terminator", ErrTooLarge, r.max)
		}
		msg = append(msg, chunk...)
		if r.onLarge != nil && len(msg) > LargeMessage {
			if err := r.onLarge(); err != nil {
				return nil, err
			}
		}
		switch {
		case err == nil:
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
	var wire struct {
		Method     *string         `json:"method"`
		Parameters json.RawMessage `json:"parameters"`
		Oneway     bool            `json:"oneway"`
		More       bool            `json:"more"`
		Upgrade    bool            `json:"upgrade"`
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

// encode marshals v as one message, NUL included.
func encode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, 0), nil
}
