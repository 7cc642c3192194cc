package sincro

import (
	"embed"

	"github.com/fhirbridge/fhirbridge/batch/store"
)

// migrationFS is the package's migration line, "tuotempo_sincro" (see
// [store.RegisterMigrations]): on PostgreSQL the private schema
// [privateSchema] with the views' rows and the storage of the two
// temporary tables and their notify trigger; on SQLite nothing (Sincro
// refuses a SQLite store).
//
//go:embed migrations
var migrationFS embed.FS

func init() { store.RegisterMigrations("tuotempo_sincro", migrationFS, "migrations") }
