package export

import (
	"embed"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// migrationFS is the package's line of migrations, "export": the tables
// export_slots and export_streaks, one folder per dialect (see
// [store.RegisterMigrations]).
// [store.Open] applies them; nothing creates tables at start-up.
//
//go:embed migrations
var migrationFS embed.FS

func init() { store.RegisterMigrations("export", migrationFS, "migrations") }
