package solostatus

import (
	"embed"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// migrationFS is the package's line of migrations, "solostatus": the table
// solo_webhook_events, one folder per dialect (see [store.RegisterMigrations]).
// [store.Open] applies them; nothing creates tables at start-up.
//
//go:embed migrations
var migrationFS embed.FS

func init() { store.RegisterMigrations("solostatus", migrationFS, "migrations") }
