package config

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestHL7v2Section(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		env     []string
		check   func(t *testing.T, h HL7v2)
		wantErr string
	}{
		{name: "absent: off, defaults", yaml: "data_dir: x\n", check: func(t *testing.T, h HL7v2) {
			if h.Listen != "" || h.MaxMessageBytes != DefaultHL7v2MaxMessageBytes || h.MaxConnections != DefaultHL7v2MaxConnections ||
				time.Duration(h.IdleTimeout) != DefaultHL7v2IdleTimeout || !maps.Equal(h.Mappings, DefaultHL7v2Mappings) {
				t.Errorf("defaults not filled: %+v", h)
			}
		}},
		{name: "from the file",
			yaml: "hl7v2:\n  listen: 127.0.0.1:2575\n  max_message_bytes: 65536\n  idle_timeout: 30s\n  max_connections: 8\n  mappings: {ADT: my/adt.yaml}\n  params: {zone: Europe/Rome}\n",
			check: func(t *testing.T, h HL7v2) {
				if h.Listen != "127.0.0.1:2575" || h.MaxMessageBytes != 65536 || h.MaxConnections != 8 ||
					h.IdleTimeout != Duration(30*time.Second) || len(h.Mappings) != 1 || h.Params["zone"] != "Europe/Rome" {
					t.Errorf("got %+v", h)
				}
			}},
		{name: "from the environment", yaml: "data_dir: x\n", env: []string{"FHIRBRIDGE_HL7V2__LISTEN=127.0.0.1:2575", "FHIRBRIDGE_HL7V2__MAX_CONNECTIONS=3"},
			check: func(t *testing.T, h HL7v2) {
				if h.Listen != "127.0.0.1:2575" || h.MaxConnections != 3 {
					t.Errorf("got %+v", h)
				}
			}},
		{name: "bad address", yaml: "hl7v2:\n  listen: nowhere\n", wantErr: `hl7v2.listen "nowhere": want host:port`},
		{name: "bad port", yaml: "hl7v2:\n  listen: 127.0.0.1:99999\n", wantErr: `port "99999" is not 1-65535`},
		{name: "plain beyond loopback", yaml: "hl7v2:\n  listen: 0.0.0.0:2575\n", wantErr: "needs mutual TLS"},
		{name: "plain beyond loopback, allowed", yaml: "hl7v2:\n  listen: 0.0.0.0:2575\n  insecure_plain: true\n"},
		{name: "same as server", yaml: "hl7v2:\n  listen: 127.0.0.1:8080\n", wantErr: "the same address as server.listen"},
		{name: "cert without key", yaml: "hl7v2:\n  tls: {cert_file: c.pem}\n", wantErr: "hl7v2.tls: cert_file and key_file go together"},
		{name: "client CA without cert", yaml: "hl7v2:\n  tls: {client_ca_file: ca.pem}\n", wantErr: "hl7v2.tls.client_ca_file (mutual TLS) needs cert_file"},
		{name: "message bound too small", yaml: "hl7v2:\n  max_message_bytes: 100\n", wantErr: "hl7v2.max_message_bytes 100: from 1024"},
		{name: "message bound too large", yaml: "hl7v2:\n  max_message_bytes: 1000000000\n", wantErr: "hl7v2.max_message_bytes 1000000000"},
		{name: "idle timeout", yaml: "hl7v2:\n  idle_timeout: 10ms\n", wantErr: "hl7v2.idle_timeout 10ms: at least 1s"},
		{name: "connections", yaml: "hl7v2:\n  max_connections: -1\n", wantErr: "hl7v2.max_connections -1"},
		{name: "bad type", yaml: "hl7v2:\n  mappings: {adt: x}\n", wantErr: `hl7v2.mappings: "adt" is not a message type`},
		{name: "empty mapping", yaml: "hl7v2:\n  mappings: {ADT: x, SIU: \"\"}\n", wantErr: "hl7v2.mappings.SIU: names no mapping"},
		{name: "empty security key", yaml: "hl7v2:\n  tls:\n    cert_file:\n", wantErr: "cert_file"},
		{name: "unknown key", yaml: "hl7v2:\n  listn: x\n", wantErr: "listn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(write(t, tt.yaml), tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, c.HL7v2)
			}
		})
	}
}

// TestHL7v2Preflight: unreadable TLS files are named by their key.
func TestHL7v2Preflight(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(bad, []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(write(t, "hl7v2:\n  listen: 127.0.0.1:2575\n  tls: {cert_file: "+bad+", key_file: "+bad+", client_ca_file: "+bad+"}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Preflight()
	for _, want := range []string{"hl7v2.tls.cert_file, hl7v2.tls.key_file", "hl7v2.tls.client_ca_file"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Preflight = %v, want %q", err, want)
		}
	}
}
