package sincro

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/store"
)

// Grant creates or updates the restricted role SINCRO logs in as (role,
// "" for the config's), with password when it is not "" (sent to the
// server as a SCRAM-SHA-256 verifier, so the password itself never
// travels nor reaches a server log), and gives it exactly: CONNECT on the
// database, USAGE on the published schema, SELECT on the published views
// and INSERT on the guide's columns of the two temporary tables' views
// (STATUS_TRIGGER excepted), nothing on the private schema. Everything else it
// held in the database is revoked first (its memberships too). It prints
// what it granted to out. Running it again gives the same result. The
// store's user needs CREATEROLE (or to be the role's admin).
func (s *Sincro) Grant(ctx context.Context, role, password string, out io.Writer) error {
	if role == "" {
		role = s.cfg.Role
	}
	if err := CheckIdent(role); err != nil {
		return fmt.Errorf("role %w", err)
	}
	r := quoteIdent(role)
	sch := quoteIdent(s.cfg.Schema)
	var granted []string
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		granted = nil
		exec := func(what, q string) error {
			if _, err := tx.SQL().ExecContext(ctx, q); err != nil {
				return store.Classify(what, err)
			}
			return nil
		}
		if err := exec("locking the sincro schema", fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", lockKey)); err != nil {
			return err
		}
		var exists bool
		if err := tx.SQL().QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", role).Scan(&exists); err != nil {
			return store.Classify("looking up the role", err)
		}
		attrs := " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS"
		if password != "" {
			v, err := scramVerifier(password)
			if err != nil {
				return err
			}
			attrs += " PASSWORD " + quoteLiteral(v)
		}
		verb := "ALTER"
		if !exists {
			verb = "CREATE"
		}
		if err := exec(strings.ToLower(verb)+" role", verb+" ROLE "+r+attrs); err != nil {
			return err
		}
		// Its memberships (it inherits nothing, but SET ROLE would work).
		rows, err := tx.SQL().QueryContext(ctx, `SELECT g.rolname FROM pg_auth_members m
			JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = $1`, role)
		if err != nil {
			return store.Classify("listing the role's memberships", err)
		}
		var groups []string
		for rows.Next() {
			var g string
			if err := rows.Scan(&g); err != nil {
				rows.Close()
				return store.Classify("listing the role's memberships", err)
			}
			groups = append(groups, g)
		}
		rows.Close()
		for _, g := range groups {
			if err := exec("revoking a membership", "REVOKE "+quoteIdent(g)+" FROM "+r); err != nil {
				return err
			}
		}
		var db string
		if err := tx.SQL().QueryRowContext(ctx, "SELECT current_database()").Scan(&db); err != nil {
			return store.Classify("naming the database", err)
		}
		// Revoke what it may hold in the schemas this database has.
		rows, err = tx.SQL().QueryContext(ctx, `SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema'`)
		if err != nil {
			return store.Classify("listing schemas", err)
		}
		var schemas []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return store.Classify("listing schemas", err)
			}
			schemas = append(schemas, n)
		}
		rows.Close()
		revokes := []string{"REVOKE ALL ON DATABASE " + quoteIdent(db) + " FROM " + r}
		for _, n := range schemas {
			n := quoteIdent(n)
			revokes = append(revokes,
				"REVOKE ALL ON SCHEMA "+n+" FROM "+r,
				"REVOKE ALL ON ALL TABLES IN SCHEMA "+n+" FROM "+r,
				"REVOKE ALL ON ALL SEQUENCES IN SCHEMA "+n+" FROM "+r,
				"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA "+n+" FROM "+r)
		}
		for _, q := range revokes {
			if err := exec("revoking the role's privileges", q); err != nil {
				return err
			}
		}
		grant := func(q string) error {
			if err := exec("granting the role", q); err != nil {
				return err
			}
			granted = append(granted, q)
			return nil
		}
		if err := grant("GRANT CONNECT ON DATABASE " + quoteIdent(db) + " TO " + r); err != nil {
			return err
		}
		if err := grant("GRANT USAGE ON SCHEMA " + sch + " TO " + r); err != nil {
			return err
		}
		for _, p := range s.views {
			if err := grant("GRANT SELECT ON " + sch + "." + quoteIdent(p.Name) + " TO " + r); err != nil {
				return err
			}
		}
		for _, t := range []string{ReservationsTmp, DeleteTable} {
			if err := grant(tmpGrantSQL(s.cfg.Schema, t, role)); err != nil {
				return err
			}
		}
		// The private schema of the migration line: nothing granted (the
		// views reach it with their owner's rights).
		return nil
	})
	if err != nil {
		return fmt.Errorf("granting the sincro role %s: %w", role, err)
	}
	for _, g := range granted {
		fmt.Fprintln(out, g+";")
	}
	return nil
}

// scramVerifier is the SCRAM-SHA-256 verifier PostgreSQL stores for
// password (as psql's \password sends it), with a fresh salt.
// The password is taken as given (no SASLprep; ASCII passwords are
// unaffected).
func scramVerifier(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salting the password: %w", err)
	}
	return scramWithSalt(password, salt, 4096)
}

func scramWithSalt(password string, salt []byte, iter int) (string, error) {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iter, sha256.Size)
	if err != nil {
		return "", fmt.Errorf("hashing the password: %w", err)
	}
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	stored := sha256.Sum256(mac(salted, "Client Key"))
	server := mac(salted, "Server Key")
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("SCRAM-SHA-256$%d:%s$%s:%s", iter, b64(salt), b64(stored[:]), b64(server)), nil
}

// GrantCommand is `sincro grant` (register it under a parent named
// "sincro", e.g. in the tuOtempO module's Commands): it loads the
// configuration of module (the section is the module's Config, whose
// Sincro section pick returns, nil when absent), opens the store, creates
// or updates the schema's objects and runs Grant.
func GrantCommand(module string, pick func(section any) *Config) *cobra.Command {
	var configFile, role, passwordEnv string
	cmd := &cobra.Command{
		Use:   "grant [--config FILE] [--role NAME] [--password-env VAR]",
		Short: "Create or update the restricted role tuOtempO SINCRO connects as",
		Long: `sincro grant creates (or updates) the PostgreSQL role tuOtempO SINCRO logs in
as (--role, default connectors.tuotempo.sincro.role) and gives it only: CONNECT
on the database, USAGE on the Sincro schema, SELECT on the published views and
INSERT on TT_RESERVATIONS_TMP and TT_DELETE_RESERVATION (views over the
bridge's private schema tuotempo_sincro_data, on which it gets nothing);
everything else it held is revoked. --password-env names the environment variable holding its
password (sent as a SCRAM-SHA-256 verifier, never printed); without it the
password is left as it is. It prints the grants. Running it again is harmless.
The store's user needs the CREATEROLE attribute.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if bridge.LoadCommandConfig == nil {
				return errors.New("no application configuration loader (bridge.LoadCommandConfig)")
			}
			var password string
			if passwordEnv != "" {
				password = os.Getenv(passwordEnv)
				if password == "" {
					return fmt.Errorf("--password-env %s: the variable is empty or not set", passwordEnv)
				}
			}
			cc, err := bridge.LoadCommandConfig(module, configFile)
			if err != nil {
				return err
			}
			cfg := pick(cc.Section)
			if cfg == nil {
				return fmt.Errorf("%s is not configured", Section)
			}
			cfg.FillDefaults()
			st, err := cc.OpenStore(ctx)
			if err != nil {
				return fmt.Errorf("opening the store: %w", err)
			}
			defer st.Close()
			log, err := cc.Log(cmd)
			if err != nil {
				return err
			}
			s, err := newWith(ctx, cfg, st, nil, log, Views, "")
			if err != nil {
				return err
			}
			return s.Grant(ctx, role, password, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&configFile, "config", "", "configuration file (default $FHIRBRIDGE_CONFIG)")
	cmd.Flags().StringVar(&role, "role", "", "role name (default connectors.tuotempo.sincro.role)")
	cmd.Flags().StringVar(&passwordEnv, "password-env", "", "environment variable holding the role's password")
	return cmd
}

// Command is the `sincro` parent command with its grant subcommand, for a
// module's Commands (`fhirbridge tuotempo sincro grant`).
func Command(module string, pick func(section any) *Config) *cobra.Command {
	c := &cobra.Command{Use: "sincro", Short: "tuOtempO Sincro on PostgreSQL (views, temporary tables, role)"}
	c.AddCommand(GrantCommand(module, pick))
	return c
}
