package config

import (
	"errors"
	"time"
)

// MinWebhookToken is the shortest accepted webhook path token: 32
// characters (`fhirbridge solo webhooks register` makes 64 hex digits).
const MinWebhookToken = 32

// SoloWebhooks configures the receiver of Solo's webhook events, mounted
// by serve at POST /solo/webhooks/{token}.
type SoloWebhooks struct {
	// Token is the secret last segment of the receiver's path; at least 32
	// characters. `fhirbridge solo webhooks register` writes one to a 0600
	// file under data_dir and prints the line that references it.
	Token Secret `yaml:"token"`
	// EncryptionKey is the subscription's encryptionKey that Solo returned
	// on register (written the same way); it decrypts the payloads.
	EncryptionKey Secret `yaml:"encryption_key"`
	// RetryEvery is how often recorded events that failed, and EHR pushes,
	// are retried (default 30s).
	RetryEvery Duration `yaml:"retry_every"`
	// MaxAttempts bounds the tries of a failing event or EHR push before
	// it is left dead for replay (default 10).
	MaxAttempts int `yaml:"max_attempts"`
}

func (x *SoloWebhooks) fillDefaults() {
	if x.RetryEvery == 0 {
		x.RetryEvery = Duration(30 * time.Second)
	}
	if x.MaxAttempts == 0 {
		x.MaxAttempts = 10
	}
}

func (x *SoloWebhooks) validate() []error {
	var errs []error
	if len(x.Token.Reveal()) < MinWebhookToken {
		errs = append(errs, errors.New("connectors.solo.webhooks.token: missing or shorter than 32 characters (a secret: {env: NAME} or {file: PATH}; `fhirbridge solo webhooks register` makes one)"))
	}
	if !x.EncryptionKey.Set() {
		errs = append(errs, errors.New("connectors.solo.webhooks.encryption_key: missing (the encryptionKey Solo returned; {env: NAME} or {file: PATH})"))
	}
	if x.RetryEvery < Duration(time.Second) {
		errs = append(errs, errors.New("connectors.solo.webhooks.retry_every: at least 1s"))
	}
	if x.MaxAttempts < 1 {
		errs = append(errs, errors.New("connectors.solo.webhooks.max_attempts: at least 1"))
	}
	return errs
}

// SoloStatus configures how Solo appointment status comes back to FHIR
// without webhooks: a poll of stored Appointments not yet final. Changed
// Appointments and Encounters go to the ehr section's endpoint when set.
type SoloStatus struct {
	// Every is the poll interval (default 5m).
	Every Duration `yaml:"every"`
	// Lookback: Appointments that started longer ago are no longer polled
	// (default 72h).
	Lookback Duration `yaml:"lookback"`
}

func (x *SoloStatus) fillDefaults() {
	if x.Every == 0 {
		x.Every = Duration(5 * time.Minute)
	}
	if x.Lookback == 0 {
		x.Lookback = Duration(72 * time.Hour)
	}
}

func (x *SoloStatus) validate() []error {
	var errs []error
	if x.Every < Duration(10*time.Second) {
		errs = append(errs, errors.New("connectors.solo.status.every: at least 10s"))
	}
	if x.Lookback < 0 {
		errs = append(errs, errors.New("connectors.solo.status.lookback: not negative"))
	}
	return errs
}
