/// The Lua scripts of ``RedisHotStore``: each is one atomic step on one event's hot state, the
/// same steps as ``InMemoryEventState`` (the differential test holds them to that).
///
/// Every script gets `KEYS[1]` = the event's key prefix `pulse:{ev:<id>}:` (the hash tag keeps an
/// event's keys in one Redis Cluster slot) and builds its key names from it. The keys:
/// `meta` (hash: seq, fence, base, stamp: the event's stamp, `base` when built and moved on by `touch`; layout: this key layout's version, 2), `h:<holdId>` (hash: u user, s seats "A1,A2", f fence, c created,
/// x expires, t TTL granted, k checkout id while frozen), `seat` (hash seat -> hold id), `user` (hash user -> held
/// seat count), `sold` (hash booked seat -> booking id), `cancelled` (zset of recently cancelled
/// booking ids scored by the event's seq at their cancel, the newest 4096), `deadlines` (zset hold id -> expires), `co:<checkoutId>` (hash: u,
/// s seats, f fences in seat order, l lease), `leases` (zset checkout id -> lease), `expired` (list
/// of recently expired hold ids, newest first, 4096 at most), `lapsed` (hash seat -> user whose
/// hold of it lapsed, until the seat is held or booked again) and `log` (stream: entry id `<seq>-0`,
/// fields t type, s seat or seats, u lockedBy, r reason; the last 1024 kept).
///
/// `ARGV[2]` is the time of the step: the caller's milliseconds, or `redis` for Redis's own clock
/// (`TIME`; ``RedisHotStore/Clock``).
///
/// `ARGV[1]` names the step, optionally followed by `@<run id>` of the Redis process running it
/// (``RedisScript/run(on:keys:arguments:bound:)``); `meta` keeps the run id the state was built
/// on (`sid`). Every script but `init` first answers `{"NOSTATE"}` when the event has no `meta` (a
/// new event, or Redis lost its data) or when its state was built on another Redis process (Redis
/// restarted from an older snapshot, or a replica that may lag behind was promoted: its seqs,
/// fences and holds may be older than what clients were told). The store then initialises the
/// event from the durable store with a fresh generation, so seqs and fences never go back and
/// subscribers resync, and retries. The first element of every other answer is 1 when the step
/// appended changes to the log, else 0.
enum RedisHotScripts {
    static let prelude = """
        local P = KEYS[1]
        local CHANGED = 0
        local OP, SID = string.match(ARGV[1], '^([^@]*)@?(.*)$')
        -- The version of this key layout: state of another layout is rebuilt, as state of another process is.
        local LAYOUT = '2'
        local function built_here()
          local m = redis.call('HMGET', P .. 'meta', 'sid', 'layout')
          return m[2] == LAYOUT and (SID == '' or m[1] == SID)
        end
        if OP ~= 'init' and (redis.call('EXISTS', P .. 'meta') == 0 or not built_here()) then return {'NOSTATE'} end
        -- The time of the step: Redis's own clock when the store passes 'redis' (one clock for
        -- every instance sharing this Redis), else the caller's milliseconds.
        local NOW = tonumber(ARGV[2])
        if ARGV[2] == 'redis' then
          local t = redis.call('TIME')
          NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        end
        local function split(s)
          local t = {}
          if s then for x in string.gmatch(s, '[^,]+') do t[#t + 1] = x end end
          return t
        end
        local DELETED = redis.call('HEXISTS', P .. 'meta', 'deleted') == 1
        local function record(kind, seats, lockedBy, reason)
          -- A deleted event's last change was event_deleted (a checkout finishing after it books quietly).
          if DELETED then return end
          local seq = redis.call('HINCRBY', P .. 'meta', 'seq', 1)
          local fields = {'t', kind, 's', seats}
          if lockedBy then fields[#fields + 1] = 'u'; fields[#fields + 1] = lockedBy end
          if reason then fields[#fields + 1] = 'r'; fields[#fields + 1] = reason end
          redis.call('XADD', P .. 'log', 'MAXLEN', '1024', string.format('%.0f-0', seq), unpack(fields))
          CHANGED = 1
        end
        local function unhold(seat)
          local id = redis.call('HGET', P .. 'seat', seat)
          if not id then return end
          redis.call('HDEL', P .. 'seat', seat)
          local hk = P .. 'h:' .. id
          local h = redis.call('HMGET', hk, 'u', 's')
          local rest = {}
          for _, s in ipairs(split(h[2])) do if s ~= seat then rest[#rest + 1] = s end end
          if redis.call('HINCRBY', P .. 'user', h[1], -1) <= 0 then redis.call('HDEL', P .. 'user', h[1]) end
          if #rest == 0 then
            redis.call('DEL', hk)
            redis.call('ZREM', P .. 'deadlines', id)
          else
            redis.call('HSET', hk, 's', table.concat(rest, ','))
          end
        end
        local function remember_expired(id)
          redis.call('LPUSH', P .. 'expired', id)
          redis.call('LTRIM', P .. 'expired', 0, 4095)
        end
        local function release_seats(seats, reason)
          for _, seat in ipairs(seats) do
            unhold(seat)
            record('seat_released', seat, nil, reason)
          end
        end
        local function lapse(id)
          local h = redis.call('HMGET', P .. 'h:' .. id, 'u', 's')
          local seats = split(h[2])
          release_seats(seats, 'expired')
          for _, seat in ipairs(seats) do redis.call('HSET', P .. 'lapsed', seat, h[1]) end
          remember_expired(id)
        end
        local function expire_due()
          for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'deadlines', '-inf', NOW)) do
            if redis.call('HEXISTS', P .. 'h:' .. id, 'k') == 0 then lapse(id) end
          end
        end
        local function was_expired(id)
          return redis.call('LPOS', P .. 'expired', id) ~= false
        end
        local function stamp()
          -- A string, as Redis keeps it: Lua's numbers would lose digits of a large stamp.
          return redis.call('HGET', P .. 'meta', 'stamp') or redis.call('HGET', P .. 'meta', 'base')
        end
        local function move_stamp()
          -- State built before stamps existed has none yet: it starts from the base, as a new state does.
          redis.call('HSETNX', P .. 'meta', 'stamp', redis.call('HGET', P .. 'meta', 'base'))
          return redis.call('HINCRBY', P .. 'meta', 'stamp', 1)
        end
        local function holder(seat)
          local id = redis.call('HGET', P .. 'seat', seat)
          if not id then return nil end
          return id, redis.call('HMGET', P .. 'h:' .. id, 'u', 'f', 'k')
        end

        """

    /// ARGV: 'init', -, base, booked seat, its booking id, ... Creates the event's state unless it exists and was
    /// built on this Redis process; state built on another process is dropped first. Answers 1
    /// if it created the state.
    static let initialise = RedisScript(
        prelude + """
            if redis.call('EXISTS', P .. 'meta') == 1 then
              if built_here() then return 0 end
              for _, id in ipairs(redis.call('ZRANGE', P .. 'deadlines', 0, -1)) do redis.call('DEL', P .. 'h:' .. id) end
              for _, id in ipairs(redis.call('ZRANGE', P .. 'leases', 0, -1)) do redis.call('DEL', P .. 'co:' .. id) end
              -- 'booked' is layout 1's set of sold seats.
              redis.call('DEL', P .. 'meta', P .. 'seat', P .. 'user', P .. 'sold', P .. 'booked', P .. 'cancelled', P .. 'deadlines', P .. 'leases', P .. 'expired', P .. 'lapsed', P .. 'log')
            end
            redis.call('HSET', P .. 'meta', 'seq', ARGV[3], 'fence', ARGV[3], 'base', ARGV[3], 'stamp', ARGV[3], 'sid', SID, 'layout', LAYOUT)
            for i = 4, #ARGV - 1, 2 do redis.call('HSET', P .. 'sold', ARGV[i], ARGV[i + 1]) end
            return 1
            """)

    /// ARGV: 'hold', now, holdId, userId, ttlMs, heldSeatsPerUserMax, expected stamp or '', seats...
    /// Answers {changed, 'granted', fence, createdAt, expiresAt} | {changed, 'unavailable', seats...} | {changed, 'limit', held}
    /// | {changed, 'stale', stamp} (checked before anything is held).
    static let hold = RedisScript(
        prelude + """
            expire_due()
            if DELETED or (ARGV[7] ~= '' and ARGV[7] ~= stamp()) then return {CHANGED, 'stale', stamp()} end
            local id, user, ttl, cap = ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
            local seats = {}
            for i = 8, #ARGV do seats[#seats + 1] = ARGV[i] end
            local taken = {}
            for _, seat in ipairs(seats) do
              if redis.call('HEXISTS', P .. 'sold', seat) == 1 or redis.call('HEXISTS', P .. 'seat', seat) == 1 then taken[#taken + 1] = seat end
            end
            if #taken > 0 then return {CHANGED, 'unavailable', unpack(taken)} end
            local held = tonumber(redis.call('HGET', P .. 'user', user) or '0')
            if held + #seats > cap then return {CHANGED, 'limit', held} end
            local fence = redis.call('HINCRBY', P .. 'meta', 'fence', 1)
            redis.call('HSET', P .. 'h:' .. id, 'u', user, 's', table.concat(seats, ','), 'f', fence, 'c', NOW, 'x', NOW + ttl, 't', ttl)
            redis.call('ZADD', P .. 'deadlines', NOW + ttl, id)
            redis.call('HSET', P .. 'user', user, held + #seats)
            for _, seat in ipairs(seats) do
              redis.call('HSET', P .. 'seat', seat, id)
              redis.call('HDEL', P .. 'lapsed', seat)
              record('seat_locked', seat, user, nil)
            end
            return {CHANGED, 'granted', fence, NOW, NOW + ttl}
            """)

    /// ARGV: 'release', now, userId, reason, 'hold' | 'seats', targets...
    /// Answers {changed, 'released', seats...} | {changed, 'notfound'} | {changed, 'incheckout'}.
    static let release = RedisScript(
        prelude + """
            expire_due()
            local user, reason, kind = ARGV[3], ARGV[4], ARGV[5]
            local seats, frozen = {}, false
            if kind == 'hold' then
              local h = redis.call('HMGET', P .. 'h:' .. ARGV[6], 'u', 's', 'k')
              if h[1] == user then
                seats = split(h[2])
                frozen = h[3] ~= false
              end
            else
              for i = 6, #ARGV do
                local id, h = holder(ARGV[i])
                if id and h[1] == user then
                  seats[#seats + 1] = ARGV[i]
                  if h[3] then frozen = true end
                end
              end
            end
            if #seats == 0 then return {CHANGED, 'notfound'} end
            if frozen then return {CHANGED, 'incheckout'} end
            release_seats(seats, reason)
            return {CHANGED, 'released', unpack(seats)}
            """)

    /// ARGV: 'extend', now, holdId, userId, byMs or '' (the hold's TTL), lifetimeMs, lifetimeForTTLMs.
    /// Answers {changed, 'extended', fence, createdAt, expiresAt, seats, ttl} | {changed, 'beyondttl', ttl} |
    /// {changed, 'notfound' | 'expired' | 'incheckout'}.
    static let extend = RedisScript(
        prelude + """
            expire_due()
            local id, user = ARGV[3], ARGV[4]
            local hk = P .. 'h:' .. id
            local h = redis.call('HMGET', hk, 'u', 'f', 'c', 'x', 'k', 's', 't')
            if h[1] ~= user then
              if was_expired(id) then return {CHANGED, 'expired'} end
              return {CHANGED, 'notfound'}
            end
            if h[5] then return {CHANGED, 'incheckout'} end
            local ttl = tonumber(h[7]) or (tonumber(h[4]) - tonumber(h[3]))
            local by = tonumber(ARGV[5]) or ttl
            if by > ttl then return {CHANGED, 'beyondttl', ttl} end
            local x = math.max(tonumber(h[4]), math.min(NOW + by, tonumber(h[3]) + math.floor(ttl * tonumber(ARGV[6]) / tonumber(ARGV[7]))))
            redis.call('HSET', hk, 'x', x)
            redis.call('ZADD', P .. 'deadlines', x, id)
            return {CHANGED, 'extended', tonumber(h[2]), tonumber(h[3]), x, h[6], ttl}
            """)

    /// ARGV: 'begin', now, userId, holdId or '', checkoutId, leaseMs, seats...
    /// Answers {changed, 'begun', lease, fences in seat order...} | {changed, 'holdnotfound'} |
    /// {changed, 'holdexpired' | 'notheld' | 'inprogress', seats...}.
    static let beginCheckout = RedisScript(
        prelude + """
            expire_due()
            local user, holdId, checkoutId, leaseMs = ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
            local seats = {}
            for i = 7, #ARGV do seats[#seats + 1] = ARGV[i] end
            if holdId ~= '' then
              local h = redis.call('HMGET', P .. 'h:' .. holdId, 'u', 's')
              if h[1] ~= user then
                if was_expired(holdId) then return {CHANGED, 'holdexpired', unpack(seats)} end
                return {CHANGED, 'holdnotfound'}
              end
              local covered = {}
              for _, s in ipairs(split(h[2])) do covered[s] = true end
              local missing = {}
              for _, seat in ipairs(seats) do if not covered[seat] then missing[#missing + 1] = seat end end
              if #missing > 0 then return {CHANGED, 'notheld', unpack(missing)} end
            end
            local ids, fences, notHeld, frozen = {}, {}, {}, {}
            for i, seat in ipairs(seats) do
              local id, h = holder(seat)
              if id and h[1] == user then
                ids[i] = id
                fences[i] = h[2]
                if h[3] then frozen[#frozen + 1] = seat end
              else
                notHeld[#notHeld + 1] = seat
              end
            end
            if #notHeld > 0 then
              for _, seat in ipairs(notHeld) do
                if redis.call('HGET', P .. 'lapsed', seat) ~= user then return {CHANGED, 'notheld', unpack(notHeld)} end
              end
              return {CHANGED, 'holdexpired', unpack(notHeld)}
            end
            if #frozen > 0 then return {CHANGED, 'inprogress', unpack(frozen)} end
            for i = 1, #seats do redis.call('HSET', P .. 'h:' .. ids[i], 'k', checkoutId) end
            local lease = NOW + leaseMs
            redis.call('HSET', P .. 'co:' .. checkoutId, 'u', user, 's', table.concat(seats, ','), 'f', table.concat(fences, ','), 'l', lease)
            redis.call('ZADD', P .. 'leases', lease, checkoutId)
            return {CHANGED, 'begun', lease, unpack(fences)}
            """)

    /// Hold ids frozen by a checkout, sorted (read before the checkout record goes).
    private static let frozenHolds = """
        local function frozen_holds(checkoutId, seats)
          local set, ids = {}, {}
          for _, seat in ipairs(seats) do
            local id, h = holder(seat)
            if id and h[3] == checkoutId and not set[id] then set[id] = true; ids[#ids + 1] = id end
          end
          table.sort(ids)
          return ids
        end
        local function ticket_seats(checkoutId, fallback)
          local s = redis.call('HGET', P .. 'co:' .. checkoutId, 's')
          if s then return split(s) end
          return fallback
        end
        local function forget_checkout(checkoutId)
          redis.call('DEL', P .. 'co:' .. checkoutId)
          redis.call('ZREM', P .. 'leases', checkoutId)
        end

        """

    /// The finish of a checkout whose booking committed (`finish`, and `free` for a checkout still frozen).
    static let finishing = """
        local function finish(checkoutId, seats)
          local ids = frozen_holds(checkoutId, ticket_seats(checkoutId, seats))
          forget_checkout(checkoutId)
          -- A cancelled booking's late finish (the sweeper's, after it listed the lapsed lease) books nothing.
          if redis.call('ZSCORE', P .. 'cancelled', checkoutId) then return end
          local newly = {}
          for _, seat in ipairs(seats) do if redis.call('HEXISTS', P .. 'sold', seat) == 0 then newly[#newly + 1] = seat end end
          if #newly == 0 then return end
          for _, seat in ipairs(newly) do
            redis.call('HSET', P .. 'sold', seat, checkoutId)
            redis.call('HDEL', P .. 'lapsed', seat)
            unhold(seat)
          end
          for _, id in ipairs(ids) do redis.call('HDEL', P .. 'h:' .. id, 'k') end
          record('seats_booked', table.concat(newly, ','), nil, nil)
        end

        """

    /// ARGV: 'finish', now, checkoutId, seats... The checkout id is its booking's id. Answers {changed}.
    static let finishCheckout = RedisScript(
        prelude + frozenHolds + finishing + """
            expire_due()
            local seats = {}
            for i = 4, #ARGV do seats[#seats + 1] = ARGV[i] end
            finish(ARGV[3], seats)
            return {CHANGED}
            """)

    /// ARGV: 'free', now, bookingId, seats... Puts the seats the booking has booked back on sale
    /// with one `seats_released` (reason cancelled), finishing its checkout first if it is still
    /// frozen, and remembers the booking as cancelled. Answers {changed, freed seats...}.
    static let freeBooked = RedisScript(
        prelude + frozenHolds + finishing + """
            expire_due()
            local bookingId = ARGV[3]
            local seats = {}
            for i = 4, #ARGV do seats[#seats + 1] = ARGV[i] end
            if redis.call('EXISTS', P .. 'co:' .. bookingId) == 1 then finish(bookingId, seats) end
            if not redis.call('ZSCORE', P .. 'cancelled', bookingId) then
              redis.call('ZADD', P .. 'cancelled', redis.call('HGET', P .. 'meta', 'seq'), bookingId)
              if redis.call('ZCARD', P .. 'cancelled') > 4096 then redis.call('ZREMRANGEBYRANK', P .. 'cancelled', 0, 0) end
            end
            local freed = {}
            for _, seat in ipairs(seats) do
              if redis.call('HGET', P .. 'sold', seat) == bookingId then
                redis.call('HDEL', P .. 'sold', seat)
                freed[#freed + 1] = seat
              end
            end
            if #freed > 0 then record('seats_released', table.concat(freed, ','), nil, 'cancelled') end
            return {CHANGED, unpack(freed)}
            """)

    /// ARGV: 'abort', now, checkoutId, '1' to release its holds as expired or '0'. Answers {changed}.
    static let abortCheckout = RedisScript(
        prelude + frozenHolds + """
            expire_due()
            local checkoutId = ARGV[3]
            local ids = frozen_holds(checkoutId, ticket_seats(checkoutId, {}))
            forget_checkout(checkoutId)
            for _, id in ipairs(ids) do
              local hk = P .. 'h:' .. id
              redis.call('HDEL', hk, 'k')
              if ARGV[4] == '1' and redis.call('EXISTS', hk) == 1 then lapse(id) end
            end
            expire_due()
            return {CHANGED}
            """)

    /// ARGV: 'expire', now. Answers {changed, seats released}.
    static let expire = RedisScript(
        prelude + """
            local before = tonumber(redis.call('HGET', P .. 'meta', 'seq'))
            expire_due()
            return {CHANGED, tonumber(redis.call('HGET', P .. 'meta', 'seq')) - before}
            """)

    /// ARGV: 'snapshot', now. Answers {changed, seq, {booked...}, {seat, user, seat, user...}}.
    static let snapshot = RedisScript(
        prelude + """
            expire_due()
            local locked = {}
            local pairs_ = redis.call('HGETALL', P .. 'seat')
            for i = 1, #pairs_, 2 do
              locked[#locked + 1] = pairs_[i]
              locked[#locked + 1] = redis.call('HGET', P .. 'h:' .. pairs_[i + 1], 'u')
            end
            return {CHANGED, tonumber(redis.call('HGET', P .. 'meta', 'seq')), redis.call('HKEYS', P .. 'sold'), locked}
            """)

    /// ARGV: 'changes', -, afterSeq. Answers {0, 'trimmed'} | {0, 'changes', entries...} (XRANGE entries).
    static let changes = RedisScript(
        prelude + """
            local after = tonumber(ARGV[3])
            local m = redis.call('HMGET', P .. 'meta', 'seq', 'base')
            local seq, base = tonumber(m[1]), tonumber(m[2])
            if after < base or after > seq then return {0, 'trimmed'} end
            if after == seq then return {0, 'changes'} end
            local first = string.format('%.0f-0', after + 1)
            local entries = redis.call('XRANGE', P .. 'log', first, '+')
            if #entries == 0 or entries[1][1] ~= first then return {0, 'trimmed'} end
            return {0, 'changes', unpack(entries)}
            """)

    /// ARGV: 'holds', now, userId. Answers {changed, {id, seats, fence, created, expires, checkout or ''}...}.
    static let holds = RedisScript(
        prelude + """
            expire_due()
            local user, seen, out = ARGV[3], {}, {}
            for _, id in ipairs(redis.call('HVALS', P .. 'seat')) do
              if not seen[id] then
                seen[id] = true
                local h = redis.call('HMGET', P .. 'h:' .. id, 'u', 's', 'f', 'c', 'x', 'k', 't')
                if h[1] == user then out[#out + 1] = {id, h[2], tonumber(h[3]), tonumber(h[4]), tonumber(h[5]), h[6] or '', tonumber(h[7]) or (tonumber(h[5]) - tonumber(h[4]))} end
              end
            end
            return {CHANGED, out}
            """)

    /// ARGV: 'stamp', -. Answers {0, stamp}.
    static let stamp = RedisScript(
        prelude + """
            return {0, stamp()}
            """)

    /// ARGV: 'touch', -. Moves the event's stamp on. Answers {0, stamp}.
    static let touch = RedisScript(
        prelude + """
            return {0, move_stamp()}
            """)

    /// ARGV: 'drop', -. Deletes the event (PB-EVENT-7): drops its holds and checkouts, moves the
    /// stamp on and records `event_deleted`, then marks it deleted. Its meta, sold seats and log
    /// stay as a tombstone (followers read the last change from the log). Answers {changed}.
    static let drop = RedisScript(
        prelude + """
            if DELETED then return {0} end
            for _, id in ipairs(redis.call('ZRANGE', P .. 'deadlines', 0, -1)) do redis.call('DEL', P .. 'h:' .. id) end
            for _, id in ipairs(redis.call('ZRANGE', P .. 'leases', 0, -1)) do redis.call('DEL', P .. 'co:' .. id) end
            redis.call('DEL', P .. 'seat', P .. 'user', P .. 'deadlines', P .. 'leases', P .. 'expired', P .. 'lapsed')
            move_stamp()
            record('event_deleted', '-', nil, nil)
            redis.call('HSET', P .. 'meta', 'deleted', '1')
            return {CHANGED}
            """)

    /// ARGV: 'sold', -. Answers {0, {seat, booking id, ...}}.
    static let soldSeats = RedisScript(
        prelude + """
            return {0, redis.call('HGETALL', P .. 'sold')}
            """)

    /// ARGV: 'load', -, seat, booking id, ... Adds booked seats. Answers {0}.
    static let loadBooked = RedisScript(
        prelude + """
            -- A booking cancelled meanwhile (read from the durable store before its cancel) stays cancelled.
            for i = 3, #ARGV - 1, 2 do
              if not redis.call('ZSCORE', P .. 'cancelled', ARGV[i + 1]) then redis.call('HSET', P .. 'sold', ARGV[i], ARGV[i + 1]) end
            end
            return {0}
            """)
}
