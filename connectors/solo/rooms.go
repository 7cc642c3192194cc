package solo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/fhirbridge/fhirbridge/connectors"
)

// WaitingRoom is one entry of GET /qapi/v1/waiting-rooms.
type WaitingRoom struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	ServiceLine string `json:"serviceLine"`
	ServiceType string `json:"serviceType"`
}

// WaitingRooms lists the practice's waiting rooms (GET
// /qapi/v1/waiting-rooms). Errors are classified as for deliveries.
func (c *Connector) WaitingRooms(ctx context.Context) ([]WaitingRoom, error) {
	_, data, err := c.call(ctx, http.MethodGet, connectors.PathOf("/qapi/v1/waiting-rooms"), nil)
	if err != nil {
		return nil, fmt.Errorf("listing waiting rooms: %w", err)
	}
	var rooms []WaitingRoom
	if err := json.Unmarshal(data, &rooms); err != nil {
		return nil, connectors.Permanently(fmt.Errorf("listing waiting rooms: the answer is not a list of rooms: %w", err))
	}
	return rooms, nil
}

// DefaultRoomTTL is how long a RoomCache keeps the list when its TTL is 0.
const DefaultRoomTTL = 5 * time.Minute

// RoomCache keeps the waiting-room list for a TTL, so that searches
// naming rooms do not ask Solo each time. It is safe for concurrent use;
// concurrent callers of an expired list share one call to Solo.
type RoomCache struct {
	list func(ctx context.Context) ([]WaitingRoom, error)
	ttl  time.Duration
	now  func() time.Time

	mu      sync.Mutex
	rooms   []WaitingRoom
	fetched time.Time
}

// NewRoomCache returns a cache over list (usually Connector.WaitingRooms)
// with the given TTL (DefaultRoomTTL when 0) and clock (time.Now when nil).
func NewRoomCache(list func(ctx context.Context) ([]WaitingRoom, error), ttl time.Duration, now func() time.Time) *RoomCache {
	if ttl <= 0 {
		ttl = DefaultRoomTTL
	}
	if now == nil {
		now = time.Now
	}
	return &RoomCache{list: list, ttl: ttl, now: now}
}

// Rooms returns the cached list, asking Solo when it is older than the
// TTL. A failed refresh returns the error (the stale list is not served:
// a room may have been removed).
func (rc *RoomCache) Rooms(ctx context.Context) ([]WaitingRoom, error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.rooms != nil && rc.now().Sub(rc.fetched) < rc.ttl {
		return rc.rooms, nil
	}
	rooms, err := rc.list(ctx)
	if err != nil {
		return nil, err
	}
	if rooms == nil {
		rooms = []WaitingRoom{}
	}
	rc.rooms, rc.fetched = rooms, rc.now()
	return rooms, nil
}

// ByID returns the room with Solo id id.
func (rc *RoomCache) ByID(ctx context.Context, id string) (WaitingRoom, bool, error) {
	return rc.find(ctx, func(r WaitingRoom) bool { return r.ID == id })
}

// ByName returns the room named name.
func (rc *RoomCache) ByName(ctx context.Context, name string) (WaitingRoom, bool, error) {
	return rc.find(ctx, func(r WaitingRoom) bool { return r.Name == name })
}

func (rc *RoomCache) find(ctx context.Context, match func(WaitingRoom) bool) (WaitingRoom, bool, error) {
	rooms, err := rc.Rooms(ctx)
	if err != nil {
		return WaitingRoom{}, false, err
	}
	for _, r := range rooms {
		if match(r) {
			return r, true, nil
		}
	}
	return WaitingRoom{}, false, nil
}
