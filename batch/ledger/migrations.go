package ledger

import (
	"embed"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// migrationFS is the package's line of migrations, "ledger": the table
// file_ledger, one folder per dialect (see [store.RegisterMigrations]).
// [store.Open] applies them; nothing creates tables at start-up.
//
//go:embed migrations
var migrationFS embed.FS

func init() { store.RegisterMigrations("ledger", migrationFS, "migrations") }
