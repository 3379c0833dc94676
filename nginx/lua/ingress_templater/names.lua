-- Which backend names the dict holds, so that a POST can delete those it drops. Kept in BUCKETS keys
-- (":n:<crc32 % BUCKETS>", names "\n"-separated) rather than one string: a PATCH then rewrites only the
-- buckets of the names it touches (about 20 names each at 10000 backends), never the whole list.
-- Called only by store.lua with the push lock held.
local crc32, concat, gmatch = ngx.crc32_short, table.concat, string.gmatch

-- fixed: the dict survives reloads, and a name must be found in the bucket it was put in
local BUCKETS = 512
local LEGACY = ":names" -- one string with every name, before the buckets (a reload may meet it)

local _M = {}

local KEYS = {}
for i = 0, BUCKETS - 1 do KEYS[i] = ":n:" .. i end

local function must(ok, err)
    if not ok then error({ store = "names: " .. tostring(err) }, 0) end
end

-- list of names -> { [bucket] = { names... } }
local function group(list)
    local by = {}
    for _, name in ipairs(list) do
        local k = crc32(name) % BUCKETS
        local g = by[k]
        if not g then g = {}; by[k] = g end
        g[#g + 1] = name
    end
    return by
end

local function split(s)
    local list = {}
    if s then for name in gmatch(s, "[^\n]+") do list[#list + 1] = name end end
    return list
end

local function put(dict, key, s)
    if s == nil then return dict:delete(key) end
    must(dict:safe_set(key, s))
end

local function joined(list)
    if #list > 0 then return concat(list, "\n") end
end

-- every tracked name, unsorted
function _M.all(dict)
    local list = {}
    for i = 0, BUCKETS - 1 do
        local s = dict:get(KEYS[i])
        if s then for name in gmatch(s, "[^\n]+") do list[#list + 1] = name end end
    end
    local legacy = dict:get(LEGACY) -- not migrated yet: GET after a reload must still show those
    if legacy then
        local seen = {}
        for _, name in ipairs(list) do seen[name] = true end
        for name in gmatch(legacy, "[^\n]+") do
            if not seen[name] then list[#list + 1] = name end
        end
    end
    return list
end

-- tracks the names not tracked yet; only the buckets that gain a name are written
function _M.add(dict, list)
    for i, names in pairs(group(list)) do
        local key = KEYS[i]
        local current = split(dict:get(key))
        local n, have = #current, {}
        for _, name in ipairs(current) do have[name] = true end
        for _, name in ipairs(names) do
            if not have[name] then have[name] = true; current[#current + 1] = name end
        end
        if #current > n then put(dict, key, joined(current)) end
    end
end

function _M.remove(dict, list)
    for i, names in pairs(group(list)) do
        local key = KEYS[i]
        local drop, keep = {}, {}
        for _, name in ipairs(names) do drop[name] = true end
        local current = split(dict:get(key))
        for _, name in ipairs(current) do
            if not drop[name] then keep[#keep + 1] = name end
        end
        if #keep < #current then put(dict, key, joined(keep)) end
    end
end

-- exactly these names (a POST's final state); unchanged buckets are not written
function _M.set(dict, list)
    local by = group(list)
    for i = 0, BUCKETS - 1 do
        local s = by[i] and joined(by[i])
        if dict:get(KEYS[i]) ~= s then put(dict, KEYS[i], s) end
    end
end

-- folds a pre-bucket ":names" string into the buckets (Lua code updated, dict kept by a reload)
function _M.migrate(dict)
    local s = dict:get(LEGACY)
    if not s then return end
    _M.add(dict, split(s))
    dict:delete(LEGACY)
end

return _M
