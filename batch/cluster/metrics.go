package cluster

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the node's Prometheus series (see Node.Collectors).
type metrics struct {
	beats, reaped, rejoined prometheus.Counter
	singleton               *prometheus.GaugeVec
}

func newMetrics() *metrics {
	return &metrics{
		beats: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fhirbridge_cluster_heartbeats_total",
			Help: "Heartbeats this node recorded in the store.",
		}),
		reaped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fhirbridge_cluster_reaped_nodes_total",
			Help: "Dead nodes (heartbeat older than dead_after) this node reaped, handing their work back.",
		}),
		rejoined: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fhirbridge_cluster_rejoined_total",
			Help: "Times this node found itself counted dead by the cluster and joined again.",
		}),
		singleton: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "fhirbridge_cluster_singleton_running",
			Help: "1 while this node runs the singleton work named (one node of the cluster at a time).",
		}, []string{"work"}),
	}
}

// Collectors returns the node's metrics, and a gauge of the live nodes
// the store records, for the caller's registry.
func (n *Node) Collectors() []prometheus.Collector {
	live := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "fhirbridge_cluster_nodes",
		Help: "Live nodes (processes with a recent heartbeat) sharing this store.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		nodes, err := n.Nodes(ctx)
		if err != nil {
			return -1
		}
		return float64(len(nodes))
	})
	return []prometheus.Collector{n.metrics.beats, n.metrics.reaped, n.metrics.rejoined, n.metrics.singleton, live}
}
