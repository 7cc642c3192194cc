package main

import (
	"context"
	"slices"

	"github.com/fhirbridge/fhirbridge/fhir/server"
)

// soloTypes are the resource types the Solo flows take beyond the
// endpoint's defaults: documents and attachments (DocumentReference, with
// its bytes possibly in a Binary) and questionnaire answers that become
// patient documents.
var soloTypes = []string{"DocumentReference", "Binary", "QuestionnaireResponse"}

func init() {
	registerServe(func(_ context.Context, env *serveEnv) error {
		if env.Config.Connectors.Solo == nil {
			return nil
		}
		types := env.Server.Types
		if len(types) == 0 {
			types = slices.Clone(server.DefaultTypes)
		}
		for _, t := range soloTypes {
			if !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
		env.Server.Types = types
		return nil
	})
}
