-- The shared dict, the only state shared by workers. Layout:
--   <name>          backend version (number): the one key the balancer reads per request, so the
--                   name itself is the key (names are [a-z0-9.-], they cannot collide with the rest)
--   b:<name>        backend JSON (canonical, see validate.lua)
--   rr:<name>       round-robin counter
--   :version        global counter, +1 per accepted push (dict:incr, never a clock)
--   :names          the stored names, "\n"-separated, so a push can delete the ones it drops
--   :lock           held while a push writes
-- Writes use safe_set/safe_add: a full dict must fail the push, never evict a backend.
local DICT_NAME = "ingress_templater"
local dict = ngx.shared[DICT_NAME]
if not dict then
    error('ingress_templater needs "lua_shared_dict ' .. DICT_NAME .. ' 64m;" in http {}')
end

local concat, sort, pcall, sleep, now = table.concat, table.sort, pcall, ngx.sleep, ngx.now

local _M = { dict = dict }

local KEY_VERSION, KEY_NAMES, KEY_LOCK = ":version", ":names", ":lock"

local function json_key(name) return "b:" .. name end
local function rr_key(name) return "rr:" .. name end
_M.json_key, _M.rr_key = json_key, rr_key

function _M.version()
    return dict:get(KEY_VERSION) or 0
end

function _M.json(name)
    return dict:get(json_key(name))
end

-- stored names as a sorted list
function _M.names()
    local list = {}
    for name in (dict:get(KEY_NAMES) or ""):gmatch("[^\n]+") do list[#list + 1] = name end
    sort(list)
    return list
end

local function must(ok, err, what)
    if not ok then error({ store = what .. ": " .. tostring(err) }, 0) end
end

local function lock()
    local deadline = now() + 10
    repeat
        local ok, err = dict:safe_add(KEY_LOCK, true, 30)
        if ok then return true end
        if err ~= "exists" then return nil, err end
        sleep(0.005)
    until now() > deadline
    return nil, "another push holds the lock"
end

-- backends: validated list of { name, json }; returns { version, changed, removed }
local function write(backends)
    local old = _M.names()
    local was, union = {}, {}
    for i, name in ipairs(old) do was[name], union[i] = true, name end

    local keep, names, changed = {}, {}, {}
    for i, b in ipairs(backends) do
        local name = b.name
        keep[name], names[i] = true, name
        if not was[name] then union[#union + 1] = name end
        -- a missing version means an earlier push stopped half-way: write it again
        if dict:get(json_key(name)) ~= b.json or dict:get(name) == nil then
            changed[#changed + 1] = b
        end
    end

    -- the names key must cover everything written below, even if this push stops half-way
    local ok, err
    if #union > #old then
        ok, err = dict:safe_set(KEY_NAMES, concat(union, "\n"))
        must(ok, err, "names")
    end

    -- drop first (frees memory); the version key goes first so readers stop using the backend
    local removed = 0
    for _, name in ipairs(old) do
        if not keep[name] then
            -- a name that an interrupted push listed but never stored is not counted
            if dict:get(name) ~= nil then removed = removed + 1 end
            dict:delete(name)
            dict:delete(json_key(name))
            dict:delete(rr_key(name))
        end
    end

    ok, err = dict:safe_add(KEY_VERSION, 0)
    if not ok and err ~= "exists" then must(ok, err, "version") end
    local version
    version, err = dict:incr(KEY_VERSION, 1)
    must(version, err, "version")

    -- JSON before version: a worker that sees the new version always finds the new JSON
    for _, b in ipairs(changed) do
        ok, err = dict:safe_set(json_key(b.name), b.json)
        must(ok, err, b.name)
        ok, err = dict:safe_add(rr_key(b.name), 0)
        if not ok and err ~= "exists" then must(ok, err, b.name) end
        ok, err = dict:safe_set(b.name, version)
        must(ok, err, b.name)
    end

    ok, err = dict:safe_set(KEY_NAMES, concat(names, "\n"))
    must(ok, err, "names")
    return { version = version, changed = #changed, removed = removed }
end

-- Replaces the whole set. Returns the result table, or nil, an error text and an HTTP status.
function _M.replace(backends)
    local ok, err = lock()
    if not ok then return nil, err, 503 end
    local res
    ok, res = pcall(write, backends)
    dict:delete(KEY_LOCK)
    if not ok then
        if type(res) == "table" and res.store then
            return nil, "shared dict " .. DICT_NAME .. " is full or failing at " .. res.store, 507
        end
        error(res, 0)
    end
    return res
end

-- the current set as JSON: {"version":N,"backends":[{"version":V,"name":...}, ...]}
function _M.dump()
    local parts = {}
    for _, name in ipairs(_M.names()) do
        local v, json = dict:get(name), dict:get(json_key(name))
        if v and json then parts[#parts + 1] = '{"version":' .. v .. "," .. json:sub(2) end
    end
    return '{"version":' .. _M.version() .. ',"backends":[' .. concat(parts, ",") .. "]}"
end

return _M
