// SPDX-License-Identifier: Apache-2.0

package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	sdaemon "github.com/coreos/go-systemd/v22/daemon"

	"github.com/virt-acl-helper/virt-acl-helper/accessapi"
	"github.com/virt-acl-helper/virt-acl-helper/config"
	"github.com/virt-acl-helper/virt-acl-helper/engine"
	"github.com/virt-acl-helper/virt-acl-helper/limit"
	"github.com/virt-acl-helper/virt-acl-helper/server"
	"github.com/virt-acl-helper/virt-acl-helper/varlink"
)

// Options configure Run.
type Options struct {
	// ConfigPath is the configuration file. Empty means config.DefaultPath,
	// which may be missing (the defaults apply); a path given explicitly
	// must exist.
	ConfigPath string
	// Listen is a socket path to listen on when systemd passed no socket.
	// Empty means accessapi.DefaultSocket, the socket unit's path.
	Listen string
	// Version is reported by GetInfo.
	Version string
	// NewAuditor builds the audit writer; nil means the kernel's audit
	// (package audit). Tests pass their own.
	NewAuditor engine.AuditorFunc
	// Stderr receives the log.
	Stderr io.Writer
	// StopTimeout bounds the wait for calls in flight at SIGTERM (default 30 s).
	StopTimeout time.Duration
}

// daemon is one running service.
type daemon struct {
	opts      Options
	log       *slog.Logger
	level     *slog.LevelVar
	vs        *varlink.Server
	rt        *engine.Runtime
	activated bool
}

// Run serves until SIGTERM or SIGINT, or until idle when socket-activated.
// It returns nil after a clean stop.
func Run(ctx context.Context, opts Options) error {
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = 30 * time.Second
	}
	d := &daemon{opts: opts, level: &slog.LevelVar{}}
	d.log = newLogger(opts.Stderr, d.level, stderrIsJournal())
	err := d.run(ctx)
	if err != nil {
		d.log.Error("virt-acl-helper stopped", "err", err)
		notify(fmt.Sprintf("STATUS=Failed: %v\nERRNO=%d", err, syscall.EINVAL))
	}
	return err
}

func (d *daemon) run(ctx context.Context) error {
	// Signals first, so none sent during start-up is lost.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)

	cfg, err := d.loadConfig()
	if err != nil {
		return err
	}
	d.level.Set(slogLevel(cfg.LogLevel))
	defer saveCollector().restore()
	limitMemory(cfg.CacheSize, d.log)
	defer startGCTuner(d.log).stop()
	rt, err := engine.Start(ctx, cfg, engine.Options{NewAuditor: d.opts.NewAuditor, Logger: d.log})
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	d.rt = rt
	defer rt.Close()

	listeners, err := d.listeners()
	if err != nil {
		return err
	}
	idle := newIdleTimer(d.idleTimeout(cfg))
	if err := d.newServers(cfg, idle); err != nil {
		closeAll(listeners)
		return err
	}
	served := make(chan error, len(listeners))
	for _, l := range listeners {
		go func() { served <- d.vs.Serve(l) }()
	}
	d.ready(cfg, listeners)
	stopWatchdog := startWatchdog(d.log)
	defer stopWatchdog()
	return d.loop(ctx, sigs, served, idle)
}

// loop handles signals, idleness and listener failures until it is time to stop.
func (d *daemon) loop(ctx context.Context, sigs <-chan os.Signal, served <-chan error, idle *idleTimer) error {
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				d.reload(ctx, idle)
				continue
			}
			d.log.Info("stopping", "signal", sig.String())
			return d.stop("Stopping on " + sig.String())
		case <-idle.C():
			if d.vs.Active() > 0 {
				continue
			}
			d.log.Info("exiting after idle time without clients; the socket starts the service again", "idle_timeout", idle.timeout)
			return d.stop("Idle, exiting")
		case err := <-served:
			d.log.Error("listener failed", "err", err)
			d.stop("Listener failed")
			return err
		case <-ctx.Done():
			return d.stop("Stopping")
		}
	}
}

// stop answers the calls in flight, then closes everything.
func (d *daemon) stop(status string) error {
	notify("STOPPING=1\nSTATUS=" + status)
	ctx, cancel := context.WithTimeout(context.Background(), d.opts.StopTimeout)
	defer cancel()
	if err := d.vs.Shutdown(ctx); err != nil {
		d.log.Warn("calls still running at the stop timeout were cut off", "timeout", d.opts.StopTimeout)
	}
	return nil
}

// loadConfig reads the configuration file; a missing default file means
// the defaults.
func (d *daemon) loadConfig() (config.Config, error) {
	path := d.opts.ConfigPath
	if path == "" {
		path = config.DefaultPath
	}
	cfg, err := config.Load(path)
	if err != nil && d.opts.ConfigPath == "" && errors.Is(err, fs.ErrNotExist) {
		d.log.Info("no configuration file; using the defaults", "path", path)
		return config.Default(), nil
	}
	if err != nil {
		return config.Config{}, fmt.Errorf("configuration: %w", err)
	}
	return cfg, nil
}

// listeners returns the varlink sockets systemd passed, or a socket at
// the Listen path.
func (d *daemon) listeners() ([]net.Listener, error) {
	ls, err := activated()
	if err != nil {
		return nil, err
	}
	if len(ls) > 0 {
		d.activated = true
		return ls[FDName], nil
	}
	path := d.opts.Listen
	if path == "" {
		path = accessapi.DefaultSocket
	}
	l, err := listenPath(path)
	if err != nil {
		return nil, err
	}
	return []net.Listener{l}, nil
}

// idleTimeout applies idle_timeout only under socket activation: started
// by hand, nothing would start the daemon again.
func (d *daemon) idleTimeout(cfg config.Config) time.Duration {
	if !d.activated {
		return 0
	}
	return cfg.IdleTimeout
}

func (d *daemon) newServers(cfg config.Config, idle *idleTimer) error {
	var vs *varlink.Server
	srv, err := server.New(server.Options{
		Runtime:     d.rt,
		Connections: func() int { return vs.Active() },
		Slots:       limit.NewConns(cfg.MaxClients, cfg.MaxClientsReserved, cfg.MaxClientsPerUser),
		Logger:      d.log,
	})
	if err != nil {
		return err
	}
	vs, err = varlink.NewServer(varlink.Options{
		Vendor: "virt-acl-helper", Product: "virt-acl-helper", Version: d.opts.Version,
		URL:            "https://github.com/virt-acl-helper/virt-acl-helper",
		MaxMessageSize: cfg.MaxMessageSize,
		Timeout:        cfg.ClientTimeout,
		MaxConns:       cfg.MaxClients,
		MaxLarge:       cfg.MaxLargeRequests,
		ConnContext:    srv.ConnContext,
		ConnDone:       srv.ConnDone,
		ProtocolError:  server.InvalidRequest,
		OnActive:       idle.active,
		Logger:         d.log,
	}, srv.Interface())
	if err != nil {
		return err
	}
	d.vs = vs
	return nil
}

func (d *daemon) ready(cfg config.Config, ls []net.Listener) {
	var addrs []string
	for _, l := range ls {
		addrs = append(addrs, l.Addr().String())
	}
	how := "listening on"
	if d.activated {
		how = "socket-activated on"
	}
	d.log.Info("virt-acl-helper ready", "version", d.opts.Version, how, strings.Join(addrs, ","),
		"access_drivers", strings.Join(cfg.AccessDrivers, ","), "audit_level", int(cfg.AuditLevel))
	notify(fmt.Sprintf("READY=1\nSTATUS=Serving; access drivers: %s", strings.Join(cfg.AccessDrivers, ",")))
}

// reload reads the configuration again and, if it is valid, has the
// runtime build a new engine (with an empty cache) and switch to it. An
// invalid file leaves everything as it was. Limits of the listener
// (max_clients, max_clients_per_user, max_clients_reserved,
// max_large_requests, max_message_size, client_timeout) apply from the
// next start.
func (d *daemon) reload(ctx context.Context, idle *idleTimer) {
	notify("RELOADING=1\nMONOTONIC_USEC=" + sdaemon.SdNotifyMonotonicUsec())
	defer notify("READY=1")
	cfg, err := d.loadConfig()
	if err != nil {
		d.log.Error("reload failed; keeping the running configuration", "err", err)
		notify("STATUS=Reload failed: " + err.Error())
		return
	}
	if err := d.rt.Reload(ctx, cfg); err != nil {
		d.log.Error("reload failed; keeping the running configuration", "err", err)
		notify("STATUS=Reload failed: " + err.Error())
		return
	}
	d.level.Set(slogLevel(cfg.LogLevel))
	limitMemory(cfg.CacheSize, d.log)
	idle.setTimeout(d.idleTimeout(cfg))
	d.log.Info("configuration reloaded; decision cache flushed",
		"access_drivers", strings.Join(cfg.AccessDrivers, ","), "cache_size", cfg.CacheSize)
	notify(fmt.Sprintf("STATUS=Serving; access drivers: %s (reloaded)", strings.Join(cfg.AccessDrivers, ",")))
}
