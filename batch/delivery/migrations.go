package delivery

import (
	"embed"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// migrationFS is the package's line of migrations, "delivery": the table
// delivery_jobs (the delivery queue), one folder per dialect (see
// [store.RegisterMigrations]).
// [store.Open] applies them; nothing creates tables at start-up.
//
//go:embed migrations
var migrationFS embed.FS

func init() { store.RegisterMigrations("delivery", migrationFS, "migrations") }
