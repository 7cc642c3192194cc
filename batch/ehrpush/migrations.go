package ehrpush

import (
	"embed"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// migrationFS is the package's line of migrations, "ehrpush": the table
// ehr_push, one folder per dialect (see [store.RegisterMigrations]).
// [store.Open] applies them; nothing creates tables at start-up.
//
//go:embed migrations
var migrationFS embed.FS

func init() { store.RegisterMigrations("ehrpush", migrationFS, "migrations") }
