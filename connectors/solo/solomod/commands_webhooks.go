package solomod

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
	"github.com/fhirbridge/fhirbridge/connectors/solo/solostatus"
)

// webhooksCmd is `fhirbridge solo webhooks`.
func webhooksCmd() *cobra.Command {
	var configFile string
	cmd := &cobra.Command{
		Use:   "webhooks",
		Short: "Manage Solo webhook subscriptions and replay kept events",
		Long: `webhooks manages the subscriptions at Solo (/qapi/v1/webhooks) whose events
serve receives at POST /solo/webhooks/{token}, and replays the events that
named an id the bridge did not know yet.

The token and Solo's encryptionKey are secrets: register writes each to a
file readable by the owner only (0600) under data_dir and prints the config
lines that reference them, never the values.`,
	}
	cmd.PersistentFlags().StringVar(&configFile, "config", "", "configuration file (default $FHIRBRIDGE_CONFIG)")
	cmd.AddCommand(newWebhooksRegisterCmd(&configFile), newWebhooksListCmd(&configFile),
		newWebhooksDeleteCmd(&configFile), newWebhooksReplayCmd(&configFile))
	return cmd
}

// loadSection loads the configuration for a solo subcommand (configFile,
// else $FHIRBRIDGE_CONFIG) and builds the Solo client of its section.
func loadSection(configFile string) (*bridge.CommandConfig, *Config, *solo.Connector, error) {
	if bridge.LoadCommandConfig == nil {
		return nil, nil, nil, errors.New("no application configuration loader (bridge.LoadCommandConfig)")
	}
	cc, err := bridge.LoadCommandConfig(solo.Name, configFile)
	if err != nil {
		return nil, nil, nil, err
	}
	s, _ := cc.Section.(*Config)
	if s == nil {
		return nil, nil, nil, errors.New("the config has no connectors.solo section")
	}
	conn, err := s.Client()
	return cc, s, conn, err
}

func newWebhooksRegisterCmd(configFile *string) *cobra.Command {
	var base string
	var events []string
	cmd := &cobra.Command{
		Use:   "register --url https://bridge.example.org [--events appointment:completed,...]",
		Short: "Subscribe the bridge's receiver at Solo and keep the encryptionKey as a secret file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cc, s, conn, err := loadSection(*configFile)
			if err != nil {
				return err
			}
			baseURL, err := url.Parse(base)
			if err != nil || (baseURL.Scheme != "https" && baseURL.Scheme != "http") || baseURL.Host == "" {
				return errors.New("--url: the bridge's public http(s) base URL")
			}
			if err := os.MkdirAll(cc.DataDir, 0o750); err != nil {
				return fmt.Errorf("creating the data directory: %w", err)
			}
			tokenRef, token, err := webhookToken(s, cc.DataDir)
			if err != nil {
				return err
			}
			endpointURL, err := connectors.PathOf("/solo/webhooks/{token}", token).URL(baseURL)
			if err != nil {
				return fmt.Errorf("building the webhook endpoint: %w", err)
			}
			endpoint := endpointURL.String()
			wh, err := conn.AddWebhook(cmd.Context(), endpoint, events)
			if err != nil {
				return err
			}
			keyFile, err := filepath.Abs(filepath.Join(cc.DataDir, "solo-webhook-"+safeName(wh.ID)+".key"))
			if err != nil {
				return err
			}
			if err := writeSecretFile(keyFile, wh.EncryptionKey.Reveal()); err != nil {
				return fmt.Errorf("keeping the encryptionKey of webhook %s (delete it at Solo and register again): %w", wh.ID, err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "registered webhook %s at %s for %d events\n", wh.ID, solo.RedactEndpoint(endpoint), len(wh.Events))
			fmt.Fprintf(out, "its encryptionKey is in %s (0600); add to the config:\n\n", keyFile)
			fmt.Fprintf(out, "connectors:\n  solo:\n    webhooks:\n      token: %s\n      encryption_key: {file: %s}\n", tokenRef, keyFile)
			return nil
		},
	}
	cmd.Flags().StringVar(&base, "url", "", "the bridge's public base URL; Solo posts to URL/solo/webhooks/TOKEN")
	cmd.Flags().StringSliceVar(&events, "events", solo.WebhookEvents, "event types to subscribe")
	_ = cmd.MarkFlagRequired("url")
	return cmd
}

// webhookToken returns the receiver token: the configured one, else one
// kept in DATA_DIR/solo-webhook.token (made on first use). ref is how the
// config references it.
func webhookToken(s *Config, dataDir string) (ref, token string, err error) {
	if w := s.Webhooks; w != nil && w.Token != "" {
		return "(as configured: connectors.solo.webhooks.token)", w.Token.Reveal(), nil
	}
	p, err := filepath.Abs(filepath.Join(dataDir, "solo-webhook.token"))
	if err != nil {
		return "", "", err
	}
	ref = "{file: " + p + "}"
	if b, err := os.ReadFile(p); err == nil && len(strings.TrimSpace(string(b))) >= MinWebhookToken {
		return ref, strings.TrimSpace(string(b)), nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", "", fmt.Errorf("reading the webhook token: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", "", fmt.Errorf("making a webhook token: %w", err)
	}
	token = hex.EncodeToString(raw)
	if err := writeSecretFile(p, token); err != nil {
		return "", "", fmt.Errorf("keeping the webhook token: %w", err)
	}
	return ref, token, nil
}

// writeSecretFile creates p (it must not exist) readable by the owner only.
func writeSecretFile(p, value string) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(value + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// safeName keeps a Solo id usable in a file name.
func safeName(id string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, id)
}

func newWebhooksListCmd(configFile *string) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the webhook subscriptions at Solo (endpoints with the token hidden)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, _, conn, err := loadSection(*configFile)
			if err != nil {
				return err
			}
			list, err := conn.ListWebhooks(cmd.Context())
			if err != nil {
				return err
			}
			for _, w := range list {
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\t%s\n", w.ID, solo.RedactEndpoint(w.Endpoint), strings.Join(w.Events, ","))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d webhooks\n", len(list))
			return nil
		},
	}
}

func newWebhooksDeleteCmd(configFile *string) *cobra.Command {
	return &cobra.Command{
		Use:   "delete WEBHOOK_ID",
		Short: "Deactivate a webhook subscription at Solo",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, _, conn, err := loadSection(*configFile)
			if err != nil {
				return err
			}
			if err := conn.DeleteWebhook(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted webhook %s\n", args[0])
			return nil
		},
	}
}

func newWebhooksReplayCmd(configFile *string) *cobra.Command {
	return &cobra.Command{
		Use:   "replay",
		Short: "Handle again the kept events that named an unknown id, or failed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cc, s, _, err := loadSection(*configFile)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			st, err := cc.OpenStore(ctx)
			if err != nil {
				return fmt.Errorf("opening the store: %w", err)
			}
			defer st.Close()
			log, err := cc.Log(cmd)
			if err != nil {
				return err
			}
			syncer, err := NewSyncer(s, cc.App, st, log)
			if err != nil {
				return err
			}
			rows, err := syncer.Replay(ctx)
			if err != nil {
				return err
			}
			counts := map[string]int{}
			for _, r := range rows {
				counts[r.State]++
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\t%s\n", r.Type, r.ObjectID, r.State)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "replayed %d events: %d done, %d still unknown, %d failed, %d dead\n",
				len(rows), counts[solostatus.StateDone], counts[solostatus.StateUnknown], counts[solostatus.StateFailed], counts[solostatus.StateDead])
			return nil
		},
	}
}
