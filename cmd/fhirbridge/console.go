package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/fhirbridge/fhirbridge/batch/config"
	"github.com/fhirbridge/fhirbridge/batch/console"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

func newConsoleCmd() *cobra.Command {
	var configFile string
	cmd := &cobra.Command{
		Use:   "console",
		Short: "Manage the operator web console's users",
		Long: `console manages the users of the web console that serve offers under
/console/ (on by default once a console user exists; config section console).
Passwords are read from the terminal (asked twice, not echoed) or, when
standard input is not a terminal, from its first line — never from the
command line. Each change is written to the console's audit log.

Roles: viewer (reads, no patient data), operator (also retry, cancel, run
now), analyst (also patient data and the mapping workbench), admin (also
users and the audit log).`,
	}
	cmd.PersistentFlags().StringVar(&configFile, "config", "", "configuration file (default: embedded defaults, or $FHIRBRIDGE_CONFIG)")
	users := &cobra.Command{Use: "user", Short: "Add, change, remove and list console users"}
	cmd.AddCommand(users)
	with := func(cmd *cobra.Command, fn func(ctx context.Context, st *store.Store) error) error {
		return withStore(cmd, configFile, func(ctx context.Context, _ *config.Config, st *store.Store) error { return fn(ctx, st) })
	}
	var role string
	add := &cobra.Command{
		Use:   "add NAME --role ROLE",
		Short: "Add a console user (password from the terminal or stdin)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := console.ParseRole(role)
			if err != nil {
				return fmt.Errorf("--role: %w", err)
			}
			if err := console.CheckUserName(args[0]); err != nil {
				return err
			}
			pw, err := readNewPassword(cmd)
			if err != nil {
				return err
			}
			if err := ensureDataDir(configFile); err != nil {
				return err
			}
			return with(cmd, func(ctx context.Context, st *store.Store) error {
				if err := console.AddUser(ctx, st, args[0], r, pw, console.Params{}, time.Now()); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "added console user %s (%s)\n", args[0], r)
				return cliAudit(ctx, st, "user.add", args[0]+" as "+r.String())
			})
		},
	}
	add.Flags().StringVar(&role, "role", "", "viewer, operator, analyst or admin (required)")
	_ = add.MarkFlagRequired("role")
	passwd := &cobra.Command{
		Use:   "passwd NAME",
		Short: "Set a console user's password (ends the user's sessions)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readNewPassword(cmd)
			if err != nil {
				return err
			}
			return with(cmd, func(ctx context.Context, st *store.Store) error {
				if err := console.SetPassword(ctx, st, args[0], pw, console.Params{}, time.Now()); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "set the password of console user %s\n", args[0])
				return cliAudit(ctx, st, "user.passwd", args[0])
			})
		},
	}
	setRole := &cobra.Command{
		Use:   "role NAME ROLE",
		Short: "Change a console user's role",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := console.ParseRole(args[1])
			if err != nil {
				return err
			}
			return with(cmd, func(ctx context.Context, st *store.Store) error {
				if err := console.SetRole(ctx, st, args[0], r, time.Now()); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "console user %s is now %s\n", args[0], r)
				return cliAudit(ctx, st, "user.role", args[0]+" to "+r.String())
			})
		},
	}
	remove := &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a console user and end the user's sessions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return with(cmd, func(ctx context.Context, st *store.Store) error {
				if err := console.RemoveUser(ctx, st, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "removed console user %s\n", args[0])
				return cliAudit(ctx, st, "user.remove", args[0])
			})
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the console users and their roles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return with(cmd, func(ctx context.Context, st *store.Store) error {
				us, err := console.ListUsers(ctx, st)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tROLE\tCREATED\tCHANGED")
				for _, u := range us {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, u.Role, u.CreatedAt.Format(time.RFC3339), u.UpdatedAt.Format(time.RFC3339))
				}
				return tw.Flush()
			})
		},
	}
	users.AddCommand(add, passwd, setRole, remove, list)
	return cmd
}

// cliAudit records a user change made on the command line: the operating
// system's user name as who, "cli" as where.
func cliAudit(ctx context.Context, st *store.Store, action, target string) error {
	who := "cli"
	if u, err := user.Current(); err == nil && console.CheckUserName(u.Username) == nil {
		who = "cli:" + u.Username
	}
	return console.WriteAudit(ctx, st, console.AuditEntry{At: time.Now(), User: who, Remote: "cli", Action: action, Target: target})
}

// readNewPassword reads a new password: from the terminal, asked twice
// without echo, or else from the first line of standard input.
func readNewPassword(cmd *cobra.Command) (string, error) {
	in := cmd.InOrStdin()
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		pw, err := promptPassword(cmd.ErrOrStderr(), f, "Password: ")
		if err != nil {
			return "", err
		}
		again, err := promptPassword(cmd.ErrOrStderr(), f, "Again: ")
		if err != nil {
			return "", err
		}
		if pw != again {
			return "", errors.New("the two passwords differ")
		}
		return pw, console.CheckPassword(pw)
	}
	pw, err := readPasswordLine(in)
	if err != nil {
		return "", err
	}
	return pw, console.CheckPassword(pw)
}

func promptPassword(w io.Writer, f *os.File, prompt string) (string, error) {
	fmt.Fprint(w, prompt)
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(w)
	if err != nil {
		return "", fmt.Errorf("reading the password from the terminal: %w", err)
	}
	return string(b), nil
}

// maxPasswordLine bounds the line read from standard input.
const maxPasswordLine = 4096

// readPasswordLine reads the first line of r (without its line end).
func readPasswordLine(r io.Reader) (string, error) {
	line, err := bufio.NewReaderSize(io.LimitReader(r, maxPasswordLine), maxPasswordLine).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	if !strings.HasSuffix(line, "\n") && len(line) >= maxPasswordLine {
		return "", fmt.Errorf("reading the password from standard input: the first line is longer than %d bytes", maxPasswordLine)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("no password: type it at the terminal or give it as the first line of standard input (never on the command line)")
	}
	return line, nil
}

// ensureDataDir creates the SQLite store's folder, as serve does, so that
// the first console user can be added before serve ever ran.
func ensureDataDir(configFile string) error {
	if configFile == "" {
		configFile = os.Getenv("FHIRBRIDGE_CONFIG")
	}
	c, err := config.Load(configFile, os.Environ())
	if err != nil {
		return err
	}
	if db := c.Database.URL.Reveal(); strings.HasPrefix(db, "sqlite://") {
		if err := os.MkdirAll(filepath.Dir(strings.TrimPrefix(db, "sqlite://")), 0o750); err != nil {
			return fmt.Errorf("creating the data directory: %w", err)
		}
	}
	return nil
}
