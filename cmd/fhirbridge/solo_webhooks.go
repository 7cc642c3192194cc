package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/fhirbridge/fhirbridge/batch/bridge"
	"github.com/fhirbridge/fhirbridge/batch/delivery"
	"github.com/fhirbridge/fhirbridge/batch/solostatus"
	"github.com/fhirbridge/fhirbridge/batch/store"
	"github.com/fhirbridge/fhirbridge/cmd/fhirbridge/internal/config"
	"github.com/fhirbridge/fhirbridge/connectors"
	"github.com/fhirbridge/fhirbridge/connectors/solo"
)

// soloWebhookPattern is where serve mounts the Solo webhook receiver.
const soloWebhookPattern = "POST /solo/webhooks/{" + solostatus.TokenPathValue + "}"

func init() {
	soloCommands = append(soloCommands, newSoloWebhooksCmd)
}

// serveSoloStatus mounts the webhook receiver (connectors.solo.webhooks)
// and runs the worker that handles events, pushes to the EHR and polls
// (connectors.solo.status).
func serveSoloStatus(ctx context.Context, c *config.Config, env *bridge.ServeEnv) error {
	s := c.Connectors.Solo
	if s == nil || (s.Webhooks == nil && s.Status == nil) {
		return nil
	}
	syncer, err := newSoloSyncer(c, env.Store, env.Log)
	if err != nil {
		return err
	}
	every, pollEvery, lookback := 30*time.Second, time.Duration(0), time.Duration(0)
	if s.Status != nil {
		pollEvery, lookback = time.Duration(s.Status.Every), time.Duration(s.Status.Lookback)
	}
	if s.Webhooks != nil {
		every = time.Duration(s.Webhooks.RetryEvery)
	}
	worker := solostatus.NewWorker(syncer, every, pollEvery, lookback)
	if w := s.Webhooks; w != nil {
		env.Handle(soloWebhookPattern, &solostatus.Receiver{
			Syncer: syncer,
			Token:  connectors.Secret(w.Token.Reveal()),
			Key:    connectors.Secret(w.EncryptionKey.Reveal()),
			Notify: worker.Wake,
			Log:    env.Log,
		})
		env.Log.Info("solo webhook receiver mounted", "path", "/solo/webhooks/…")
	}
	env.Go(worker.Run)
	return nil
}

// newSoloSyncer builds the status syncer from the config.
func newSoloSyncer(c *config.Config, st *store.Store, log *slog.Logger) (*solostatus.Syncer, error) {
	s := c.Connectors.Solo
	conn, err := solo.New(solo.Config{BaseURL: s.BaseURL, APIKey: solo.Secret(s.APIKey.Reveal()), Timeout: time.Duration(s.Timeout)})
	if err != nil {
		return nil, err
	}
	status, enc, err := solostatus.LoadMappings()
	if err != nil {
		return nil, err
	}
	syncer := &solostatus.Syncer{Store: st, Solo: conn, Status: status, Encounter: enc, Log: log}
	if s.Webhooks != nil {
		syncer.MaxAttempts = s.Webhooks.MaxAttempts
	}
	if c.EHR != nil {
		syncer.EHRFlow = delivery.EHRFlow
	}
	return syncer, nil
}

func newSoloWebhooksCmd() *cobra.Command {
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

// soloConfig loads the config and builds the Solo client.
func soloConfig(configFile string) (*config.Config, *solo.Connector, error) {
	if configFile == "" {
		configFile = os.Getenv("FHIRBRIDGE_CONFIG")
	}
	c, err := config.Load(configFile, os.Environ())
	if err != nil {
		return nil, nil, err
	}
	s := c.Connectors.Solo
	if s == nil {
		return nil, nil, errors.New("the config has no connectors.solo section")
	}
	conn, err := solo.New(solo.Config{BaseURL: s.BaseURL, APIKey: solo.Secret(s.APIKey.Reveal()), Timeout: time.Duration(s.Timeout)})
	return c, conn, err
}

func newWebhooksRegisterCmd(configFile *string) *cobra.Command {
	var base string
	var events []string
	cmd := &cobra.Command{
		Use:   "register --url https://bridge.example.org [--events appointment:completed,...]",
		Short: "Subscribe the bridge's receiver at Solo and keep the encryptionKey as a secret file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, conn, err := soloConfig(*configFile)
			if err != nil {
				return err
			}
			baseURL, err := url.Parse(base)
			if err != nil || (baseURL.Scheme != "https" && baseURL.Scheme != "http") || baseURL.Host == "" {
				return errors.New("--url: the bridge's public http(s) base URL")
			}
			if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
				return fmt.Errorf("creating the data directory: %w", err)
			}
			tokenRef, token, err := webhookToken(c)
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
			keyFile, err := filepath.Abs(filepath.Join(c.DataDir, "solo-webhook-"+safeName(wh.ID)+".key"))
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
func webhookToken(c *config.Config) (ref, token string, err error) {
	if w := c.Connectors.Solo.Webhooks; w != nil && w.Token.Set() {
		return "(as configured: " + w.Token.Source() + ")", w.Token.Reveal(), nil
	}
	p, err := filepath.Abs(filepath.Join(c.DataDir, "solo-webhook.token"))
	if err != nil {
		return "", "", err
	}
	ref = "{file: " + p + "}"
	if b, err := os.ReadFile(p); err == nil && len(strings.TrimSpace(string(b))) >= config.MinWebhookToken {
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
			_, conn, err := soloConfig(*configFile)
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
			_, conn, err := soloConfig(*configFile)
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
			return withStore(cmd, *configFile, func(ctx context.Context, c *config.Config, st *store.Store) error {
				if c.Connectors.Solo == nil {
					return errors.New("the config has no connectors.solo section")
				}
				syncer, err := newSoloSyncer(c, st, slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)))
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
			})
		},
	}
}
