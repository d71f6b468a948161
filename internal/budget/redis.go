package budget

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis keeps budgets in Redis (OAUTHD_REDIS_URL): one hash per budget
// (tokens t, last update u, burst b), spent and refunded by Lua scripts,
// which Redis runs one at a time, so a reservation over several budgets is
// all or nothing, and its clock is the server's (TIME), the same for
// every instance. Keys carry one hash tag, so a Redis Cluster keeps them
// in one slot.
type Redis struct{ rdb *redis.Client }

// NewRedis connects to the Redis at url (redis:// or rediss://).
func NewRedis(url string) (*Redis, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("OAUTHD_REDIS_URL: %w", err)
	}
	return &Redis{rdb: redis.NewClient(opts)}, nil
}

// Ping checks that the server answers.
func (r *Redis) Ping(ctx context.Context) error { return r.rdb.Ping(ctx).Err() }

// Close closes the connections.
func (r *Redis) Close() error { return r.rdb.Close() }

// reserveScript: KEYS are the budgets, ARGV burst and per-second refill
// for each. It returns "0" when one failure was taken from every budget,
// else the seconds until the emptiest refills (nothing taken).
var reserveScript = redis.NewScript(`
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1e6
local avail, wait = {}, 0
for i = 1, #KEYS do
  local burst, rate = tonumber(ARGV[2*i-1]), tonumber(ARGV[2*i])
  local v = redis.call('HMGET', KEYS[i], 't', 'u')
  local tokens = burst
  if v[1] then tokens = math.min(burst, tonumber(v[1]) + (t - tonumber(v[2])) * rate) end
  avail[i] = tokens
  if tokens < 1 then wait = math.max(wait, (1 - tokens) / rate) end
end
if wait > 0 then return tostring(wait) end
for i = 1, #KEYS do
  redis.call('HSET', KEYS[i], 't', tostring(avail[i] - 1), 'u', tostring(t), 'b', ARGV[2*i-1])
  redis.call('EXPIRE', KEYS[i], 3600)
end
return '0'`)

var refundScript = redis.NewScript(`
for i = 1, #KEYS do
  local v = redis.call('HMGET', KEYS[i], 't', 'b')
  if v[1] then redis.call('HSET', KEYS[i], 't', tostring(math.min(tonumber(v[2]), tonumber(v[1]) + 1))) end
end
return 0`)

// checkScript: KEYS and ARGV as reserveScript's; it spends nothing and
// returns "0" when every budget has a failure left, else the seconds
// until the emptiest has.
var checkScript = redis.NewScript(`
local now = redis.call('TIME')
local t = tonumber(now[1]) + tonumber(now[2]) / 1e6
local wait = 0
for i = 1, #KEYS do
  local burst, rate = tonumber(ARGV[2*i-1]), tonumber(ARGV[2*i])
  local v = redis.call('HMGET', KEYS[i], 't', 'u')
  if v[1] then
    local tokens = math.min(burst, tonumber(v[1]) + (t - tonumber(v[2])) * rate)
    if tokens < 1 then wait = math.max(wait, (1 - tokens) / rate) end
  end
end
return tostring(wait)`)

func redisKey(key string) string { return "oauthd:{budget}:" + digest(key) }

// Reserve implements Store.
func (r *Redis) Reserve(ctx context.Context, charges []Charge) (time.Duration, error) {
	keys := make([]string, len(charges))
	args := make([]any, 0, 2*len(charges))
	for i, c := range charges {
		keys[i] = redisKey(c.Key)
		args = append(args, c.Limit.Burst, strconv.FormatFloat(c.Limit.perSecond(), 'g', -1, 64))
	}
	out, err := reserveScript.Run(ctx, r.rdb, keys, args...).Text()
	if err != nil {
		return 0, fmt.Errorf("reserve failure budget: %w", err)
	}
	secs, err := strconv.ParseFloat(out, 64)
	if err != nil {
		return 0, fmt.Errorf("reserve failure budget: unexpected answer %q", out)
	}
	if secs <= 0 {
		return 0, nil
	}
	return seconds(secs), nil
}

// Check implements Store.
func (r *Redis) Check(ctx context.Context, charges []Charge) (time.Duration, error) {
	keys := make([]string, len(charges))
	args := make([]any, 0, 2*len(charges))
	for i, c := range charges {
		keys[i] = redisKey(c.Key)
		args = append(args, c.Limit.Burst, strconv.FormatFloat(c.Limit.perSecond(), 'g', -1, 64))
	}
	out, err := checkScript.Run(ctx, r.rdb, keys, args...).Text()
	if err != nil {
		return 0, fmt.Errorf("check failure budget: %w", err)
	}
	secs, err := strconv.ParseFloat(out, 64)
	if err != nil {
		return 0, fmt.Errorf("check failure budget: unexpected answer %q", out)
	}
	if secs <= 0 {
		return 0, nil
	}
	return seconds(secs), nil
}

// Refund implements Store.
func (r *Redis) Refund(ctx context.Context, charges []Charge) error {
	keys := make([]string, len(charges))
	for i, c := range charges {
		keys[i] = redisKey(c.Key)
	}
	if err := refundScript.Run(ctx, r.rdb, keys).Err(); err != nil {
		return fmt.Errorf("refund failure budget: %w", err)
	}
	return nil
}
