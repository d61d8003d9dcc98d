// SPDX-License-Identifier: Apache-2.0

package audit

// A memo keeps what formatting found out about the record formatted
// last: how each of its fields' values is written, and which detail keys
// are safe field names. The records of one list (a CheckMany) differ in
// a few fields (the object's, the decision's) and share the others
// (permission, action id, subject, executable, origin), which the next
// record then does not examine again. What is kept depends on a value's
// text alone, so a record that shares nothing is formatted as without a
// memo. The writer keeps one per batch; it is not safe for concurrent
// use.
type memo struct {
	bufs [2][maxFields]field // the last record's fields and the next one's, by turns
	cur  int                 // which of bufs the last record's are in
	n    int                 // how many fields the last record had

	keys [8]string // detail keys found valid, the newest at next-1
	next int
}

// append appends r's text to b, as appendFormat does.
func (m *memo) append(b []byte, r Record) []byte {
	next := 1 - m.cur
	b, fs := appendFields(b, m.bufs[next][:0], r, m)
	m.cur, m.n = next, len(fs)
	return b
}

// last returns the last record's fields, as measured; none for a nil m.
func (m *memo) last() []field {
	if m == nil {
		return nil
	}
	return m.bufs[m.cur][:m.n]
}

// detailKey is detailKey(k), remembering the valid keys it saw.
func (m *memo) detailKey(k string) string {
	if m == nil {
		return detailKey(k)
	}
	for _, v := range m.keys {
		if v == k && k != "" {
			return k
		}
	}
	if !validKey(k) {
		return hexKey(k)
	}
	m.keys[m.next] = k
	m.next = (m.next + 1) % len(m.keys)
	return k
}
