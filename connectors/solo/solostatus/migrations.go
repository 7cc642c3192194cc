package solostatus

import (
	"embed"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// migrationFS is the package's line of migrations, "solostatus": the table
// solo_webhook_events (0001), whose rows 0002 moved into the delivery
// queue before dropping it; one folder per dialect (see
// [store.RegisterMigrations]). The line runs after the delivery line
// (lines run in name order), whose 0003 it needs.
// [store.Open] applies them; nothing creates tables at start-up.
//
//go:embed migrations
var migrationFS embed.FS

func init() { store.RegisterMigrations("solostatus", migrationFS, "migrations") }
