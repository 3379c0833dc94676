-- The shared dict, the only state shared by workers. Layout:
--   <name>          backend version (number): the one key the balancer reads per request, so the
--                   name itself is the key (names are [a-z0-9.-], they cannot collide with the rest)
--   b:<name>        backend JSON (canonical, see validate.lua)
--   rr:<name>       round-robin counter
--   :version        global counter, +1 per accepted push (dict:incr, never a clock)
--   :n:<0-511>      the stored names in buckets (names.lua), so a POST can delete the ones it drops
--   :lock           held while a push writes
-- Writes use safe_set/safe_add: a full dict must fail the push, never evict a backend.
local DICT_NAME = "ingress_templater"
local dict = ngx.shared[DICT_NAME]
if not dict then
    error('ingress_templater needs "lua_shared_dict ' .. DICT_NAME .. ' 64m;" in http {}')
end

local names = require("ingress_templater.names")

local concat, sort, pcall, sleep, now = table.concat, table.sort, pcall, ngx.sleep, ngx.now

local _M = { dict = dict }

local KEY_VERSION, KEY_LOCK = ":version", ":lock"

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
    local list = names.all(dict)
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

-- a missing version means an earlier push stopped half-way: write it again
local function differs(b)
    return dict:get(json_key(b.name)) ~= b.json or dict:get(b.name) == nil
end

-- the version key goes first so readers stop using the backend; true when it was stored (a name
-- that an interrupted push tracked but never stored is not counted)
local function drop(name)
    local stored = dict:get(name) ~= nil
    dict:delete(name)
    dict:delete(json_key(name))
    dict:delete(rr_key(name))
    return stored
end

local function bump()
    local ok, err = dict:safe_add(KEY_VERSION, 0)
    if not ok and err ~= "exists" then must(ok, err, "version") end
    local version
    version, err = dict:incr(KEY_VERSION, 1)
    must(version, err, "version")
    return version
end

-- JSON before version: a worker that sees the new version always finds the new JSON
local function put(changed, version)
    for _, b in ipairs(changed) do
        local ok, err = dict:safe_set(json_key(b.name), b.json)
        must(ok, err, b.name)
        ok, err = dict:safe_add(rr_key(b.name), 0)
        if not ok and err ~= "exists" then must(ok, err, b.name) end
        ok, err = dict:safe_set(b.name, version)
        must(ok, err, b.name)
    end
end

-- POST. push: validate.backends's result (backends: list of { name, json }; refused: list of
-- { name, error }); returns { version, changed, removed }. A refused backend keeps what is stored for
-- it (its last good endpoints), as if the push had not named it but without dropping it.
-- Names are tracked before anything is written, so a push that stops half-way leaves nothing
-- the next POST would not delete.
local function write_all(push)
    local backends = push.backends
    names.migrate(dict)
    local old = names.all(dict)
    local keep, list, new, changed = {}, {}, {}, {}
    for _, name in ipairs(old) do keep[name] = false end
    for i, b in ipairs(backends) do
        if keep[b.name] == nil then new[#new + 1] = b.name end
        keep[b.name], list[i] = true, b.name
        if differs(b) then changed[#changed + 1] = b end
    end
    for _, r in ipairs(push.refused) do
        if keep[r.name] == false and dict:get(r.name) ~= nil then
            keep[r.name], list[#list + 1] = true, r.name
        end
    end
    names.add(dict, new)

    local removed = 0 -- dropped first: frees memory
    for _, name in ipairs(old) do
        if not keep[name] and drop(name) then removed = removed + 1 end
    end
    local version = bump()
    put(changed, version)
    names.set(dict, list)
    return { version = version, changed = #changed, removed = removed }
end

-- PATCH (validate.patch's result): touches only the named backends and their name buckets. A backend
-- whose canary names a backend neither in this patch nor stored is refused (p.refused), like any other
-- invalid backend: it keeps what is stored for it.
local function write_patch(p)
    local missing = {}
    for _, ref in ipairs(p.refs) do
        if dict:get(ref.name) == nil then
            missing[ref.backend] = true
            p.refused[#p.refused + 1] = { name = ref.backend.name, error = ref.where .. ": no backend " .. ref.quoted .. " in this patch or stored" }
        end
    end
    names.migrate(dict)
    local list, changed = {}, {}
    for _, b in ipairs(p.backends) do
        if not missing[b] then
            list[#list + 1] = b.name
            if differs(b) then changed[#changed + 1] = b end
        end
    end
    names.add(dict, list)

    local removed = 0
    for _, name in ipairs(p.removed) do
        if drop(name) then removed = removed + 1 end
    end
    local version = bump()
    put(changed, version)
    names.remove(dict, p.removed)
    return { version = version, changed = #changed, removed = removed }
end

-- runs write(arg) under the lock; the result table, or nil, an error text and an HTTP status
local function locked(write, arg)
    local ok, err = lock()
    if not ok then return nil, err, 503 end
    local res
    ok, res = pcall(write, arg)
    dict:delete(KEY_LOCK)
    if not ok then
        if type(res) == "table" and res.invalid then return nil, res.invalid, 400 end
        if type(res) == "table" and res.store then
            return nil, "shared dict " .. DICT_NAME .. " is full or failing at " .. res.store, 507
        end
        error(res, 0)
    end
    return res
end

-- Replaces the whole set but for refused backends (POST).
function _M.replace(push) return locked(write_all, push) end

-- Adds, changes and removes the backends named (PATCH).
function _M.patch(p) return locked(write_patch, p) end

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
