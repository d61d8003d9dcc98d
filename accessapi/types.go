// SPDX-License-Identifier: Apache-2.0

package accessapi

// Object is the wire form of an acl.Object.
type Object struct {
	Type       string            `json:"type"`
	Driver     string            `json:"driver"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// Subject names a process other than the caller.
type Subject struct {
	PID       int64   `json:"pid"`
	UID       *int64  `json:"uid,omitempty"`
	StartTime *uint64 `json:"startTime,omitempty"`
}

// CheckParams are Check's parameters.
type CheckParams struct {
	Object     Object   `json:"object"`
	Permission string   `json:"permission"`
	Subject    *Subject `json:"subject,omitempty"`
}

// Result is one decision.
type Result struct {
	Allowed bool   `json:"allowed"`
	Cached  bool   `json:"cached"`
	Driver  string `json:"driver"`
}

// CheckManyParams are CheckMany's parameters.
type CheckManyParams struct {
	Permission string   `json:"permission"`
	Objects    []Object `json:"objects"`
	Subject    *Subject `json:"subject,omitempty"`
}

// CheckManyReply is CheckMany's reply.
type CheckManyReply struct {
	Results []Result `json:"results"`
}

// FlushParams are Flush's parameters.
type FlushParams struct {
	UID    *int64  `json:"uid,omitempty"`
	Object *Object `json:"object,omitempty"`
}

// FlushReply is Flush's reply.
type FlushReply struct {
	Removed int `json:"removed"`
}

// Stats is Stats's reply.
type Stats struct {
	Drivers       string            `json:"drivers"`
	Decisions     uint64            `json:"decisions"`
	Allowed       uint64            `json:"allowed"`
	Denied        uint64            `json:"denied"`
	Unavailable   uint64            `json:"unavailable"`
	AuditFailed   uint64            `json:"auditFailed"`
	Invalid       uint64            `json:"invalid"`
	Invalidations map[string]uint64 `json:"invalidations"`
	Cache         CacheStats        `json:"cache"`
	DriverStats   []DriverStats     `json:"driverStats"`
	Latency       LatencyStats      `json:"latency"`
	Connections   int               `json:"connections"`
	Audit         *AuditStats       `json:"audit,omitempty"`
}

// AuditStats are the kernel audit writer's counters: the records the
// kernel accepted and those lost, by cause.
type AuditStats struct {
	Level      int               `json:"level"`
	Sent       uint64            `json:"sent"`
	Lost       uint64            `json:"lost"`
	LostBy     map[string]uint64 `json:"lostBy"`
	Queued     int               `json:"queued"`
	KernelLost uint64            `json:"kernelLost"`
}

// CacheStats are the decision cache's counters.
type CacheStats struct {
	Entries       int    `json:"entries"`
	Hits          uint64 `json:"hits"`
	Misses        uint64 `json:"misses"`
	Shared        uint64 `json:"shared"`
	Evictions     uint64 `json:"evictions"`
	Expired       uint64 `json:"expired"`
	Invalidations uint64 `json:"invalidations"`
	Discarded     uint64 `json:"discarded"`
}

// DriverStats count one access driver's calls.
type DriverStats struct {
	Name   string `json:"name"`
	Calls  uint64 `json:"calls"`
	Errors uint64 `json:"errors"`
	Denied uint64 `json:"denied"`
}

// LatencyStats summarise decision latency, in nanoseconds.
type LatencyStats struct {
	Count uint64 `json:"count"`
	Mean  int64  `json:"mean"`
	P50   int64  `json:"p50"`
	P99   int64  `json:"p99"`
	P999  int64  `json:"p999"`
	Max   int64  `json:"max"`
}
