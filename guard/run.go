// SPDX-License-Identifier: Apache-2.0

package guard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	sdaemon "github.com/coreos/go-systemd/v22/daemon"

	"github.com/virt-acl-helper/virt-acl-helper/config"
	"github.com/virt-acl-helper/virt-acl-helper/engine"
	"github.com/virt-acl-helper/virt-acl-helper/limit"
	"github.com/virt-acl-helper/virt-acl-helper/xmlpolicy"
)

// RunOptions configure Run, the "virt-acl-helper guard" command.
type RunOptions struct {
	Listen         string // the read-write socket
	ReadOnlyListen string // the read-only socket; "" for none
	Upstream       string // libvirtd's socket
	// ConfigPath is the configuration file; "" means config.DefaultPath,
	// which may be missing.
	ConfigPath        string
	AllowQEMUCommands bool
	// NewAuditor builds the audit writer; nil means the kernel's audit.
	NewAuditor engine.AuditorFunc
	Stderr     io.Writer
	// Ready, if set, is called once the sockets listen.
	Ready func()
}

// Run serves the guard's sockets until SIGTERM or SIGINT (or ctx ends);
// SIGHUP reloads the configuration. The sockets are the ones systemd
// passed (FileDescriptorName= FDName and FDNameReadOnly), or else the
// ones at opts.Listen and opts.ReadOnlyListen. Under systemd it reports
// READY and STOPPING (Type=notify).
func Run(ctx context.Context, opts RunOptions) error {
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(opts.Stderr, nil))
	err := run(ctx, opts, log)
	if err != nil {
		log.Error("virt-acl-helper guard stopped", "err", err)
	}
	return err
}

func run(ctx context.Context, opts RunOptions, log *slog.Logger) error {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	cfg, err := loadConfig(opts.ConfigPath, log)
	if err != nil {
		return err
	}
	policy, err := loadXMLPolicy(cfg, log)
	if err != nil {
		return err
	}
	content := NewContentPolicy(policy, cfg.AllowHostPathCalls)
	owners, stopOwners, err := startOwners(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer stopOwners()
	rt, err := engine.Start(ctx, cfg, engine.Options{NewAuditor: opts.NewAuditor, Logger: log})
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer rt.Close()
	socks, activated, err := sockets(opts)
	if err != nil {
		return err
	}
	// Idle exit only under socket activation: started by hand, nothing
	// would start the guard again.
	idle := newIdleExit(0)
	if activated {
		idle.setTimeout(cfg.GuardIdleTimeout)
	}
	defer closeSockets(socks)
	var all []*Server
	defer func() {
		for _, srv := range all {
			srv.Close()
		}
	}()
	// One count of connections for both sockets, as the daemon keeps
	// one for its own; a reload changes its limits (loop).
	slots := limit.NewConns(cfg.MaxClients, cfg.MaxClientsReserved, cfg.MaxClientsPerUser)
	for _, sock := range socks {
		srv, err := New(Options{Runtime: rt, Upstream: opts.Upstream, ReadOnly: sock.ro,
			AllowQEMUCommands: opts.AllowQEMUCommands, Content: content, Owners: owners, Slots: slots, Conns: idle.conns, Logger: log})
		if err != nil {
			return err
		}
		all = append(all, srv)
	}
	errs := make(chan error, len(all))
	for i, srv := range all {
		l := socks[i].l
		go func() { errs <- srv.Serve(l) }()
		log.Info("virt-acl-helper guard listening", "socket", l.Addr().String(), "read_only", srv.opts.ReadOnly,
			"upstream", srv.opts.Upstream, "access_drivers", cfg.AccessDrivers)
	}
	notify(fmt.Sprintf("READY=1\nSTATUS=Guarding %s; access drivers: %s", all[0].opts.Upstream, strings.Join(cfg.AccessDrivers, ",")))
	defer notify("STOPPING=1")
	if opts.Ready != nil {
		opts.Ready()
	}
	stopWatchdog := make(chan struct{})
	defer close(stopWatchdog)
	go watchdog(stopWatchdog, log)
	st := &running{opts: opts, rt: rt, content: content, slots: slots, idle: idle, activated: activated, log: log}
	return st.loop(ctx, sigs, errs)
}

// running is what the guard's main loop changes on a reload.
type running struct {
	opts      RunOptions
	rt        *engine.Runtime
	content   *ContentPolicy
	slots     *limit.Conns
	idle      *idleExit
	activated bool
	log       *slog.Logger
}

// loop reloads on SIGHUP until a signal to stop, the end of ctx, a
// listener failing, or, socket-activated, guard_idle_timeout without
// clients.
func (st *running) loop(ctx context.Context, sigs <-chan os.Signal, errs <-chan error) error {
	for {
		select {
		case sig := <-sigs:
			if sig != syscall.SIGHUP {
				st.log.Info("stopping", "signal", sig.String())
				return nil
			}
			if err := st.reload(ctx); err != nil {
				st.log.Error("reload failed; the configuration in use stays", "err", err)
			} else {
				st.log.Info("configuration reloaded")
			}
		case <-st.idle.idle:
			if st.idle.quiet() {
				st.log.Info("exiting after guard_idle_timeout without clients; the guard's sockets start it again")
				return nil
			}
		case err := <-errs:
			return err
		case <-ctx.Done():
			return nil
		}
	}
}

// reload reads the configuration again: a new engine generation (limits
// included), the XML content policy it names, the connection limits for
// connections from now on, and the idle timeout. A configuration or
// policy that does not load changes nothing.
func (st *running) reload(ctx context.Context) error {
	cfg, err := loadConfig(st.opts.ConfigPath, st.log)
	var policy *xmlpolicy.Policy
	if err == nil {
		policy, err = loadXMLPolicy(cfg, st.log)
	}
	if err == nil {
		err = st.rt.Reload(ctx, cfg)
	}
	if err != nil {
		return err
	}
	st.content.Set(policy, cfg.AllowHostPathCalls)
	st.slots.SetLimits(cfg.MaxClients, cfg.MaxClientsReserved, cfg.MaxClientsPerUser)
	if st.activated {
		st.idle.setTimeout(cfg.GuardIdleTimeout)
	}
	return nil
}

// loadXMLPolicy loads the policy xml_policy names. A file that is invalid,
// or missing at a path other than the default, is an error, never a guard
// without a policy: an admin who configured one expects it enforced. The
// default file missing means the built-in default, the file the packages
// install. Only xml_policy = "" runs without, and says so.
func loadXMLPolicy(cfg config.Config, log *slog.Logger) (*xmlpolicy.Policy, error) {
	if cfg.XMLPolicy == "" {
		log.Warn("no XML content policy (xml_policy = \"\"): whoever may define or change a VM is root on the host")
		return nil, nil
	}
	p, err := xmlpolicy.Load(cfg.XMLPolicy)
	if err != nil && cfg.XMLPolicy == config.DefaultXMLPolicy && errors.Is(err, fs.ErrNotExist) {
		// No package installed it (a guard tried from a build): the
		// built-in policy is that same file, so nothing runs unfiltered.
		log.Info("no XML content policy file; using the built-in default policy", "path", cfg.XMLPolicy)
		return xmlpolicy.Default(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("XML content policy (xml_policy = %q; \"\" runs without one): %w", cfg.XMLPolicy, err)
	}
	return p, nil
}

func loadConfig(path string, log *slog.Logger) (config.Config, error) {
	explicit := path != ""
	if !explicit {
		path = config.DefaultPath
	}
	cfg, err := config.Load(path)
	if err != nil && !explicit && errors.Is(err, fs.ErrNotExist) {
		log.Info("no configuration file; using the defaults", "path", path)
		return config.Default(), nil
	}
	if err != nil {
		return config.Config{}, fmt.Errorf("configuration: %w", err)
	}
	return cfg, nil
}

// notify tells systemd the guard's state (sd_notify(3)); without
// NOTIFY_SOCKET it does nothing, and its errors are ignored: the guard
// works without a manager to tell.
func notify(state string) { sdaemon.SdNotify(false, state) }
