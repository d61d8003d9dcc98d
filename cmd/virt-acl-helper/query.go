// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
	"github.com/virt-acl-helper/virt-acl-helper/acl"
	"github.com/virt-acl-helper/virt-acl-helper/client"
	"github.com/virt-acl-helper/virt-acl-helper/varlink"
)

// Exit statuses of check.
const (
	exitAllowed = 0
	exitDenied  = 1
	exitError   = 2
)

// clientFlags are the flags every client command has.
type clientFlags struct {
	socket  *string
	timeout *time.Duration
}

func addClientFlags(fs *flag.FlagSet) clientFlags {
	return clientFlags{
		socket:  fs.String("socket", client.SocketPath(), "daemon socket (also $"+client.SocketEnv+")"),
		timeout: fs.Duration("timeout", 30*time.Second, "give up after this long"),
	}
}

func (f clientFlags) dial() (*client.Client, context.Context, func(), error) {
	ctx, cancel := context.WithTimeout(context.Background(), *f.timeout)
	c, err := client.Dial(ctx, *f.socket)
	if err != nil {
		cancel()
		return nil, nil, nil, fmt.Errorf("cannot reach the daemon at %s: %w (is virt-acl-helper.socket running?)", *f.socket, err)
	}
	return c, ctx, func() { c.Close(); cancel() }, nil
}

// attrFlags collects repeated --attr key=value flags.
type attrFlags map[string]string

func (a attrFlags) String() string { return "" }
func (a attrFlags) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return errors.New("want key=value")
	}
	a[k] = v
	return nil
}

// lastKey returns the last attribute key of t ending in suffix: the
// object's own name or UUID key (vol_name rather than pool_name).
func lastKey(t acl.ObjectType, suffix string) string {
	key := ""
	for _, a := range t.Attrs() {
		if strings.HasSuffix(a.Key, suffix) {
			key = a.Key
		}
	}
	return key
}

func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: virt-acl-helper check <object> <permission> [--name N] [--uuid U] [--driver D] [--attr K=V]... [--pid P --uid U [--start-time T]]\n\n"+
			"Ask the daemon whether a process (by default this one; --pid needs root or polkit's\n"+
			"io.github.virt-acl-helper.check-other) may use a libvirt permission on an object,\n"+
			"e.g. check domain start --name vm1 --uuid 6695eb01-f6a4-8304-79aa-97f2502e193f.\n"+
			"Another process must be named with the uid its socket credentials (SO_PEERCRED)\n"+
			"gave you, --uid, and best also its start time, --start-time (field 22 of\n"+
			"/proc/PID/stat): a process that has become another user is then refused.\n\n"+
			"Exit status: 0 allowed, 1 denied by policy, 2 error (no decision: bad request,\n"+
			"daemon or polkit unreachable, not privileged); only 0 means allowed.\n\n")
		fs.PrintDefaults()
	}
	cf := addClientFlags(fs)
	of := addObjectFlags(fs)
	pid := fs.Int64("pid", 0, "ask about this process instead (with --uid)")
	uid := fs.Int64("uid", -1, "the uid the --pid process must have: the one its socket credentials gave you")
	startTime := fs.Uint64("start-time", 0, "the start time the --pid process must have (field 22 of /proc/PID/stat)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return exitError
	}
	if len(pos) != 2 {
		fs.Usage()
		return exitError
	}
	obj, err := of.object(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "check: %v\n", err)
		return exitError
	}
	params := accessapi.CheckParams{Object: obj, Permission: pos[1]}
	subject, err := subjectFlags(fs, *pid, *uid, *startTime)
	if err != nil {
		fmt.Fprintf(stderr, "check: %v\n", err)
		return exitError
	}
	params.Subject = subject
	c, ctx, done, err := cf.dial()
	if err != nil {
		fmt.Fprintf(stderr, "check: %v\n", err)
		return exitError
	}
	defer done()
	r, err := c.Check(ctx, params)
	if err != nil {
		fmt.Fprintf(stderr, "check: %s\n", explain(err))
		return exitError
	}
	cached := ""
	if r.Cached {
		cached = ", cached"
	}
	if !r.Allowed {
		fmt.Fprintf(stdout, "denied (by %s%s)\n", r.Driver, cached)
		return exitDenied
	}
	fmt.Fprintf(stdout, "allowed (by %s%s)\n", r.Driver, cached)
	return exitAllowed
}

// subjectFlags turns --pid, --uid and --start-time into the subject; nil
// without --pid (the caller itself).
func subjectFlags(fs *flag.FlagSet, pid, uid int64, startTime uint64) (*accessapi.Subject, error) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["pid"] {
		if set["uid"] || set["start-time"] {
			return nil, errors.New("--uid and --start-time pin the process --pid names; give --pid too")
		}
		return nil, nil
	}
	if !set["uid"] {
		return nil, errors.New("--pid needs --uid: the uid the process's socket credentials gave you")
	}
	s := &accessapi.Subject{PID: pid, UID: &uid}
	if set["start-time"] {
		s.StartTime = &startTime
	}
	return s, nil
}

// objectFlags are the flags that name an object.
type objectFlags struct {
	name, uuid, driver *string
	attrs              attrFlags
}

func addObjectFlags(fs *flag.FlagSet) objectFlags {
	f := objectFlags{
		name:   fs.String("name", "", "the object's name (domain_name, network_name, vol_name, ...)"),
		uuid:   fs.String("uuid", "", "the object's UUID (domain_uuid, network_uuid, ...)"),
		driver: fs.String("driver", "", "libvirt driver owning the object, polkit's connect_driver (default by type: QEMU, network, storage, ...)"),
		attrs:  attrFlags{},
	}
	fs.Var(f.attrs, "attr", "other polkit detail of the object, key=value (repeatable)")
	return f
}

// object builds the object of type typ the flags describe; the daemon
// validates it.
func (f objectFlags) object(typ string) (accessapi.Object, error) {
	t, err := acl.ParseObjectType(typ)
	if err != nil {
		return accessapi.Object{}, err
	}
	attrs := maps.Clone(f.attrs)
	for suffix, v := range map[string]string{"_name": *f.name, "_uuid": *f.uuid} {
		if v == "" {
			continue
		}
		key := lastKey(t, suffix)
		if key == "" {
			return accessapi.Object{}, fmt.Errorf("%s objects have no %s attribute; use --attr", t, strings.TrimPrefix(suffix, "_"))
		}
		attrs[key] = v
	}
	driver := *f.driver
	if driver == "" {
		driver = t.DefaultDriver()
	}
	return accessapi.Object{Type: t.String(), Driver: driver, Attributes: attrs}, nil
}

// parseInterspersed parses flags placed before, between or after the
// positional arguments, as people type them.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// explain turns the daemon's error replies into advice.
func explain(err error) string {
	e, ok := varlink.AsError(err)
	if !ok {
		return err.Error()
	}
	var p map[string]any
	e.ErrorParameters(&p)
	switch e.Name {
	case accessapi.ErrInvalidRequest:
		return fmt.Sprintf("invalid request: %v", p["reason"])
	case accessapi.ErrUnknownPermission:
		return fmt.Sprintf("unknown permission %v (valid: %v)", p["permission"], joinAny(p["valid"]))
	case accessapi.ErrNoSuchProcess:
		return fmt.Sprintf("no such process %v", p["pid"])
	case accessapi.ErrAuthorizationUnavailable:
		return fmt.Sprintf("no decision: access driver %v is unavailable (is polkitd running?); treated as denied", p["driver"])
	case accessapi.ErrAuditFailed:
		return "no decision: the audit record was refused and auditing is required; treated as denied"
	case accessapi.ErrRateLimited:
		return fmt.Sprintf("no decision: this user asked for more than %v decisions a second (rate_limit); treated as denied, retry later", p["perSecond"])
	case accessapi.ErrTooManyConnections:
		return fmt.Sprintf("no decision: this user holds too many connections to the daemon (at most %v); treated as denied", p["perUser"])
	case accessapi.ErrNotPrivileged:
		return fmt.Sprintf("not privileged: this needs root, or a polkit rule granting %v", p["action"])
	}
	return err.Error()
}

func joinAny(v any) string {
	items, _ := v.([]any)
	s := make([]string, len(items))
	for i, it := range items {
		s[i] = fmt.Sprint(it)
	}
	return strings.Join(s, ", ")
}

func runFlush(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("flush", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: virt-acl-helper flush [--uid U] [<object> --name N --uuid U [--driver D] [--attr K=V]...]\n\n"+
			"Drop the daemon's cached decisions: all of them, those about processes of a uid,\n"+
			"or those about one object (root or polkit's io.github.virt-acl-helper.flush).\n\n")
		fs.PrintDefaults()
	}
	cf := addClientFlags(fs)
	uid := fs.Int64("uid", -1, "drop only the decisions about processes of this uid")
	of := addObjectFlags(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil || len(pos) > 1 {
		fs.Usage()
		return 2
	}
	var p accessapi.FlushParams
	if *uid >= 0 {
		p.UID = uid
	}
	if len(pos) == 1 {
		obj, err := of.object(pos[0])
		if err != nil {
			fmt.Fprintf(stderr, "flush: %v\n", err)
			return 2
		}
		p.Object = &obj
	}
	c, ctx, done, err := cf.dial()
	if err != nil {
		fmt.Fprintf(stderr, "flush: %v\n", err)
		return 1
	}
	defer done()
	n, err := c.Flush(ctx, p)
	if err != nil {
		fmt.Fprintf(stderr, "flush: %s\n", explain(err))
		return 1
	}
	fmt.Fprintf(stdout, "%d cached decisions dropped\n", n)
	return 0
}

func runStats(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("stats", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := addClientFlags(fs)
	asJSON := fs.Bool("json", false, "print the counters as JSON, for scripts")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return 2
	}
	c, ctx, done, err := cf.dial()
	if err != nil {
		fmt.Fprintf(stderr, "stats: %v\n", err)
		return 1
	}
	defer done()
	s, err := c.Stats(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "stats: %s\n", explain(err))
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(s)
		return 0
	}
	printStats(stdout, s)
	return 0
}

func printStats(w io.Writer, s accessapi.Stats) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
	row("access drivers", s.Drivers)
	row("connections", s.Connections)
	row("decisions", s.Decisions)
	row("  allowed", s.Allowed)
	row("  denied", s.Denied)
	row("  unavailable", s.Unavailable)
	row("  audit failed", s.AuditFailed)
	row("invalid requests", s.Invalid)
	row("cache entries", s.Cache.Entries)
	row("cache hits / misses", fmt.Sprintf("%d / %d", s.Cache.Hits, s.Cache.Misses))
	row("latency p50 / p99 / max", fmt.Sprintf("%v / %v / %v", time.Duration(s.Latency.P50), time.Duration(s.Latency.P99), time.Duration(s.Latency.Max)))
	for _, d := range s.DriverStats {
		row("driver "+d.Name, fmt.Sprintf("%d calls, %d errors, %d denied", d.Calls, d.Errors, d.Denied))
	}
	if a := s.Audit; a != nil {
		row("audit records sent / lost / queued", fmt.Sprintf("%d / %d / %d", a.Sent, a.Lost, a.Queued))
		for _, c := range slices.Sorted(maps.Keys(a.LostBy)) {
			row("  lost: "+c, a.LostBy[c])
		}
		row("kernel lost counter rise", a.KernelLost)
	}
	reasons := make([]string, 0, len(s.Invalidations))
	for r := range s.Invalidations {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		row("cache flushes: "+r, s.Invalidations[r])
	}
	tw.Flush()
}
