-- Consistent hashing: every endpoint owns POINTS positions on a crc32 ring, derived from its own
-- address, so removing one endpoint moves only the keys that were on it. A key is the concatenation
-- of the hashBy variables' values; the first ring position at or after its crc32 wins.
local crc32 = ngx.crc32_long
local var = ngx.var
local floor, max, min, sort, concat = math.floor, math.max, math.min, table.sort, table.concat

local POINTS = 160
local MAX_RING = 80000 -- fewer points per endpoint beyond 500 endpoints: bounds the build (~50 ms)

local mt = {}
mt.__index = mt

local _M = {}

function _M.new(b, data)
    local vars = {}
    for name in data.hashBy:gmatch("%$([a-z_][a-z0-9_]*)") do vars[#vars + 1] = name end

    local per = max(1, min(POINTS, floor(MAX_RING / max(b.n, 1))))
    local owner, hashes = {}, {}
    for _, ep in ipairs(b.endpoints) do
        for i = 1, per do
            local h = crc32(ep.key .. "#" .. i)
            local o = owner[h]
            if not o then
                hashes[#hashes + 1] = h
                owner[h] = ep
            elseif ep.key < o.key then
                owner[h] = ep -- a collision goes to the same endpoint whatever the input order
            end
        end
    end
    sort(hashes)
    local ring = {}
    for i, h in ipairs(hashes) do ring[i] = owner[h] end

    return setmetatable({ vars = vars, single = vars[1], multi = #vars > 1, hashes = hashes,
                          ring = ring, size = #hashes }, mt)
end

function mt:key()
    if not self.multi then return var[self.single] or "" end
    local parts = {}
    for i, name in ipairs(self.vars) do parts[i] = var[name] or "" end
    return concat(parts)
end

function mt:pick()
    local h = crc32(self:key())
    local hashes = self.hashes
    -- first position >= h, wrapping to the start
    local lo, hi = 1, self.size
    if h > hashes[hi] then return self.ring[1] end
    while lo < hi do
        local mid = floor((lo + hi) / 2)
        if hashes[mid] < h then lo = mid + 1 else hi = mid end
    end
    return self.ring[lo]
end

return _M
