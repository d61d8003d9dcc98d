// SPDX-License-Identifier: Apache-2.0

package audit

// batch gathers the records of one write; its memory is reused, so that
// the records' texts cost no allocation each.
type batch struct {
	jobs []job    // one per record: its caller, if one waits
	text []byte   // the records' texts, one after another
	ends []int    // where each record's text ends in text
	msgs [][]byte // the texts handle sends
	sent []job    // the jobs of msgs
	// rest are the records of a job taken that did not fit: the next
	// batch's first.
	rest []Record
	memo memo // what the last record's formatting found out
}

// fill starts b with j and adds the jobs already queued, within the
// batch's bounds.
func (w *Writer) fill(b *batch, j job) *batch {
	b.jobs, b.text, b.ends = b.jobs[:0], b.text[:0], b.ends[:0]
	b.add(j)
	for !b.full() && len(b.rest) == 0 {
		select {
		case j := <-w.jobs:
			w.taken(j)
			b.add(j)
		default:
			return b
		}
	}
	return b
}

// add formats j's records into b; those that do not fit are b.rest.
func (b *batch) add(j job) {
	if j.recs == nil {
		b.text = append(b.text, j.text...)
		b.push(job{ctx: j.ctx, done: j.done, i: j.i})
		return
	}
	for k, r := range j.recs {
		if b.full() {
			b.rest = j.recs[k:]
			return
		}
		b.text = b.memo.append(b.text, r)
		b.push(job{})
	}
}

// push adds the job of the record whose text was just added.
func (b *batch) push(j job) {
	b.jobs = append(b.jobs, j)
	b.ends = append(b.ends, len(b.text))
}

// full reports whether b holds as many records, or bytes, as one write
// may.
func (b *batch) full() bool {
	return len(b.jobs) >= maxBatch || len(b.text)+nlmsgHdrLen*len(b.jobs) >= maxBatchBytes
}

// takeRest returns b.rest, which it empties.
func (b *batch) takeRest() []Record {
	r := b.rest
	b.rest = nil
	return r
}
