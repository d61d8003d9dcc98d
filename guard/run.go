// SPDX-License-Identifier: Apache-2.0

package guard

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
	"syscall"

	"github.com/virt-acl-helper/virt-acl-helper/config"
	"github.com/virt-acl-helper/virt-acl-helper/engine"
	"github.com/virt-acl-helper/virt-acl-helper/limit"
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
// SIGHUP reloads the configuration.
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
	rt, err := engine.Start(ctx, cfg, engine.Options{NewAuditor: opts.NewAuditor, Logger: log})
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer rt.Close()
	type served struct {
		srv *Server
		l   net.Listener
	}
	var all []served
	defer func() {
		for _, s := range all {
			s.l.Close()
			s.srv.Close()
		}
	}()
	// One count of connections for both sockets, as the daemon keeps
	// one for its own; a reload does not change it.
	slots := limit.NewConns(cfg.MaxClients, cfg.MaxClientsReserved, cfg.MaxClientsPerUser)
	for _, sock := range []struct {
		path string
		ro   bool
	}{{opts.Listen, false}, {opts.ReadOnlyListen, true}} {
		if sock.path == "" {
			continue
		}
		srv, err := New(Options{Runtime: rt, Upstream: opts.Upstream, ReadOnly: sock.ro,
			AllowQEMUCommands: opts.AllowQEMUCommands, Slots: slots, Logger: log})
		if err != nil {
			return err
		}
		l, err := listen(sock.path)
		if err != nil {
			return err
		}
		all = append(all, served{srv, l})
	}
	if len(all) == 0 {
		return errors.New("no socket to listen on (--listen)")
	}
	errs := make(chan error, len(all))
	for _, s := range all {
		go func() { errs <- s.srv.Serve(s.l) }()
		log.Info("virt-acl-helper guard listening", "socket", s.l.Addr().String(), "read_only", s.srv.opts.ReadOnly,
			"upstream", s.srv.opts.Upstream, "access_drivers", cfg.AccessDrivers)
	}
	if opts.Ready != nil {
		opts.Ready()
	}
	for {
		select {
		case sig := <-sigs:
			if sig != syscall.SIGHUP {
				log.Info("stopping", "signal", sig.String())
				return nil
			}
			cfg, err := loadConfig(opts.ConfigPath, log)
			if err == nil {
				err = rt.Reload(ctx, cfg)
			}
			if err != nil {
				log.Error("reload failed; the configuration in use stays", "err", err)
			} else {
				log.Info("configuration reloaded")
			}
		case err := <-errs:
			return err
		case <-ctx.Done():
			return nil
		}
	}
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

// listen listens on path, replacing a stale socket (never another kind of
// file). The socket is open to everyone (0666): the guard identifies and
// authorizes each client itself.
func listen(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("listen %s: exists and is not a socket", path)
		}
		if c, err := net.Dial("unix", path); err == nil {
			c.Close()
			return nil, fmt.Errorf("listen %s: another process serves it", path)
		}
		os.Remove(path)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		l.Close()
		return nil, fmt.Errorf("listen %s: %w", path, err)
	}
	return l, nil
}
