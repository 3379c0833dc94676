-- Checks a POST or PATCH /configuration/backends body completely before anything is stored, and turns
-- each backend into one canonical JSON string (fixed key order, endpoints sorted and deduplicated) so
-- that "changed" is a plain string comparison.
-- Two kinds of error. A malformed push (bad JSON, unknown top-level field, too many backends, a backend
-- that is not an object or has no valid, unique name, a bad "removed" list) is refused whole: nothing
-- could say which backend was meant. Anything wrong inside one named backend (its endpoints, balancing,
-- affinity, canary) refuses that backend alone: it is left out of the push and keeps what is stored for
-- it, the others are stored, and the answer lists the refused ones. So one tenant's bad backend (say a
-- Service with more than MAX_ENDPOINTS endpoints) can never hold back another tenant's endpoint change.
local cjson = require("cjson.safe").new()
local ip = require("ingress_templater.ip")

local type, next, pairs, ipairs, floor, concat, sort = type, next, pairs, ipairs, math.floor, table.concat, table.sort
local encode = cjson.encode

cjson.decode_invalid_numbers(false) -- no NaN, Infinity or hex
cjson.decode_max_depth(16)          -- the payload is 4 levels deep

local _M = {
    MAX_BACKENDS = 20000,
    MAX_ENDPOINTS = 10000,
}

local LOAD_BALANCE = { round_robin = true, random = true, ewma = true, chash = true }
local TOP_FIELDS = { backends = true }
local PATCH_FIELDS = { backends = true, removed = true }
local BACKEND_FIELDS = { name = true, endpoints = true, loadBalance = true, hashBy = true, affinity = true, canary = true }
local ENDPOINT_FIELDS = { address = true, port = true }
local AFFINITY_FIELDS = { name = true, maxAge = true, path = true }
local CANARY_FIELDS = {
    backend = true, weight = true, weightTotal = true, header = true, headerValue = true, headerPattern = true, cookie = true,
}
local WEIGHT_TOTAL_MAX = 1000000
local PATTERN_MAX = 256

-- Debian's cjson decodes [] and {} alike (empty table) and null as a userdata; arrays have number keys
local function json_type(v)
    local t = type(v)
    if t == "table" then
        local k = next(v)
        if k == nil then return "empty" end
        return type(k) == "number" and "array" or "object"
    end
    if v == cjson.null then return "null" end
    return t
end

local function is_object(v)
    local t = json_type(v)
    return t == "object" or t == "empty"
end

local function is_array(v)
    local t = json_type(v)
    return t == "array" or t == "empty"
end

local function is_int(v, lo, hi)
    return type(v) == "number" and v == floor(v) and v >= lo and v <= hi
end

local function unknown_field(obj, allowed, where)
    for k in pairs(obj) do
        if not allowed[k] then
            return (where == "" and "" or where .. ".") .. tostring(k) .. ": unknown field"
        end
    end
end

-- backend names are namespace_service_port (src/model/names.ts): DNS names joined with "_"
local function valid_name(s)
    return #s <= 253 and s:find("^[a-z0-9][%-a-z0-9._]*$") ~= nil and s:find("[a-z0-9]$") ~= nil
end

-- one or more $variable tokens, nothing else
local function valid_hash_by(s)
    if #s == 0 or #s > 128 then return false end
    local pos = 1
    while pos <= #s do
        local _, e = s:find("^%$[a-z_][a-z0-9_]*", pos)
        if not e then return false end
        pos = e + 1
    end
    return true
end

local function valid_cookie_name(s)
    return #s <= 64 and s:find("^[A-Za-z0-9!#%$%%&'%*%+%.%^_`|~%-]+$") ~= nil
end

local function valid_cookie_path(s)
    return #s <= 256 and s:find("^/[A-Za-z0-9%._~!&%(%)%*%+,=:@%%/%-]*$") ~= nil
end

-- as nginx names $http_* variables: letters, digits, '-'
local function valid_header_name(s)
    return #s <= 64 and s:find("^[A-Za-z0-9][A-Za-z0-9%-]*$") ~= nil
end

-- visible ASCII with inner spaces (nginx trims the ends of header values)
local function valid_header_value(s)
    if #s == 0 or #s > 256 then return false end
    return s:find("^[\33-\126]") ~= nil and s:find("^[\32-\126]*$") ~= nil and s:find("[\33-\126]$") ~= nil
end

-- printable ASCII that PCRE compiles (ngx.re caches it: "o")
local function check_pattern(s)
    if #s == 0 or #s > PATTERN_MAX or not s:find("^[\32-\126]+$") then
        return "must be 1-" .. PATTERN_MAX .. " printable ASCII characters"
    end
    local from, _, err = ngx.re.find("", s, "jo")
    if not from and err then return "does not compile: " .. err end
end

local function check_endpoint(e, where)
    if not is_object(e) then return nil, where .. ": must be an object" end
    local err = unknown_field(e, ENDPOINT_FIELDS, where)
    if err then return nil, err end
    if type(e.address) ~= "string" then
        return nil, where .. ".address: must be a string"
    end
    local address = ip.canonical(e.address)
    if not address then return nil, where .. ".address: not an IP address" end
    if not is_int(e.port, 1, 65535) then
        return nil, where .. ".port: must be an integer from 1 to 65535"
    end
    return '{"address":' .. encode(address) .. ',"port":' .. e.port .. '}'
end

local function check_affinity(a, where)
    if not is_object(a) then return nil, where .. ": must be an object" end
    local err = unknown_field(a, AFFINITY_FIELDS, where)
    if err then return nil, err end
    if type(a.name) ~= "string" or not valid_cookie_name(a.name) then
        return nil, where .. ".name: must be a cookie name (1-64 token characters)"
    end
    local path = a.path
    if path == nil then
        path = "/"
    elseif type(path) ~= "string" or not valid_cookie_path(path) then
        return nil, where .. ".path: must be a path starting with / (up to 256 safe characters)"
    end
    local json = '{"name":' .. encode(a.name) .. ',"path":' .. encode(path)
    if a.maxAge ~= nil then
        if not is_int(a.maxAge, 1, 31536000) then
            return nil, where .. ".maxAge: must be an integer from 1 to 31536000"
        end
        json = json .. ',"maxAge":' .. a.maxAge
    end
    return json .. "}"
end

local function check_canary(c, where, own)
    if not is_object(c) then return nil, where .. ": must be an object" end
    local err = unknown_field(c, CANARY_FIELDS, where)
    if err then return nil, err end
    if type(c.backend) ~= "string" or not valid_name(c.backend) then
        return nil, where .. ".backend: must be a backend name"
    end
    if c.backend == own then return nil, where .. ".backend: must be another backend" end
    local total = c.weightTotal
    if total == nil then
        total = 100
    elseif not is_int(total, 1, WEIGHT_TOTAL_MAX) then
        return nil, where .. ".weightTotal: must be an integer from 1 to " .. WEIGHT_TOTAL_MAX
    end
    local weight = c.weight
    if weight == nil then
        weight = 0
    elseif not is_int(weight, 0, total) then
        return nil, where .. ".weight: must be an integer from 0 to weightTotal (" .. total .. ")"
    end
    local json = '{"backend":' .. encode(c.backend) .. ',"weight":' .. weight .. ',"weightTotal":' .. total
    if c.header ~= nil then
        if type(c.header) ~= "string" or not valid_header_name(c.header) then
            return nil, where .. ".header: must be a header name (letters, digits, '-', at most 64)"
        end
        json = json .. ',"header":' .. encode(c.header)
    end
    if c.headerValue ~= nil then
        if c.header == nil then return nil, where .. ".headerValue: only allowed with header" end
        if type(c.headerValue) ~= "string" or not valid_header_value(c.headerValue) then
            return nil, where .. ".headerValue: must be 1-256 printable ASCII characters, no space at either end"
        end
        json = json .. ',"headerValue":' .. encode(c.headerValue)
    end
    if c.headerPattern ~= nil then
        if c.header == nil then return nil, where .. ".headerPattern: only allowed with header" end
        if c.headerValue ~= nil then return nil, where .. ".headerPattern: not allowed with headerValue" end
        if type(c.headerPattern) ~= "string" then return nil, where .. ".headerPattern: must be a string" end
        err = check_pattern(c.headerPattern)
        if err then return nil, where .. ".headerPattern: " .. err end
        json = json .. ',"headerPattern":' .. encode(c.headerPattern)
    end
    if c.cookie ~= nil then
        if type(c.cookie) ~= "string" or not valid_cookie_name(c.cookie) then
            return nil, where .. ".cookie: must be a cookie name (1-64 token characters)"
        end
        json = json .. ',"cookie":' .. encode(c.cookie)
    end
    return json .. "}"
end

-- b is an object with a valid name (check_backends); the backend's canonical JSON, or nil and "where: what"
local function check_backend(b, where)
    local err = unknown_field(b, BACKEND_FIELDS, where)
    if err then return nil, err end

    local lb = b.loadBalance
    if lb == nil then
        lb = "round_robin"
    elseif type(lb) ~= "string" or not LOAD_BALANCE[lb] then
        return nil, where .. ".loadBalance: must be one of round_robin, random, ewma, chash"
    end
    local json = '{"name":' .. encode(b.name) .. ',"loadBalance":"' .. lb .. '"'

    if lb == "chash" then
        if type(b.hashBy) ~= "string" or not valid_hash_by(b.hashBy) then
            return nil, where .. ".hashBy: must be one or more $variable names (at most 128 characters)"
        end
        json = json .. ',"hashBy":' .. encode(b.hashBy)
    elseif b.hashBy ~= nil then
        return nil, where .. ".hashBy: only allowed with loadBalance chash"
    end

    if b.affinity ~= nil then
        local a
        a, err = check_affinity(b.affinity, where .. ".affinity")
        if not a then return nil, err end
        json = json .. ',"affinity":' .. a
    end

    if b.canary ~= nil then
        local c
        c, err = check_canary(b.canary, where .. ".canary", b.name)
        if not c then return nil, err end
        json = json .. ',"canary":' .. c
    end

    local eps = b.endpoints
    if not is_array(eps) then return nil, where .. ".endpoints: must be an array" end
    if #eps > _M.MAX_ENDPOINTS then
        return nil, where .. ".endpoints: more than " .. _M.MAX_ENDPOINTS .. " endpoints"
    end
    local list, seen = {}, {}
    for i = 1, #eps do
        local e
        e, err = check_endpoint(eps[i], where .. ".endpoints[" .. (i - 1) .. "]")
        if not e then return nil, err end
        -- the same address twice (EndpointSlices overlap briefly) is one endpoint
        if not seen[e] then
            seen[e] = true
            list[#list + 1] = e
        end
    end
    sort(list)
    return json .. ',"endpoints":[' .. concat(list, ",") .. "]}"
end

local function decode(body, allowed)
    if type(body) ~= "string" or body == "" then return nil, "body: empty, expected a JSON object" end
    local doc, err = cjson.decode(body)
    if doc == nil then return nil, "body: not valid JSON: " .. tostring(err) end
    -- [] decodes as {} does: look at the text (an empty PATCH must not come as an array)
    if not is_object(doc) or body:find("^%s*%[") then return nil, "body: must be a JSON object" end
    err = unknown_field(doc, allowed, "")
    if err then return nil, err end
    return doc
end

-- the "backends" array -> the valid backends as a list of { name, json, where, canary } (canary: the
-- name its canary field names), name -> "backends[i]" for every backend, and the refused backends as a
-- list of { name, error }; or nil and an error for a malformed push
local function check_backends(list)
    if not is_array(list) then return nil, "backends: must be an array" end
    if #list > _M.MAX_BACKENDS then
        return nil, "backends: more than " .. _M.MAX_BACKENDS .. " backends"
    end
    local out, first, refused = {}, {}, {}
    for i = 1, #list do
        local where, b = "backends[" .. (i - 1) .. "]", list[i]
        -- a backend that cannot be named refuses the push: the answer could not say which one was left out
        if not is_object(b) then return nil, where .. ": must be an object" end
        local name = b.name
        if type(name) ~= "string" or not valid_name(name) then
            return nil, where .. ".name: must be a backend name (lower-case DNS names joined with '_', at most 253 characters)"
        end
        if first[name] then
            return nil, where .. '.name: duplicate of ' .. first[name] .. ' ("' .. name .. '")'
        end
        first[name] = where
        local json, err = check_backend(b, where)
        if json then
            out[#out + 1] = { name = name, json = json, where = where, canary = b.canary ~= nil and b.canary.backend or nil }
        else
            refused[#refused + 1] = { name = name, error = err }
        end
    end
    return out, first, refused
end

-- moves the backends for which reason(b) answers an error from list to refused
local function refuse_where(list, refused, reason)
    local kept = {}
    for _, b in ipairs(list) do
        local err = reason(b)
        if err then refused[#refused + 1] = { name = b.name, error = err } else kept[#kept + 1] = b end
    end
    return kept
end

-- POST body text -> { backends = list of { name, json, ... }, refused = list of { name, error } }, or
-- nil and "where: what" for a malformed push
function _M.backends(body)
    local doc, err = decode(body, TOP_FIELDS)
    if not doc then return nil, err end
    local out, first, refused = check_backends(doc.backends)
    if not out then return nil, first end
    -- a canary names another backend of the same push (a refused one counts: it keeps what is stored)
    out = refuse_where(out, refused, function(b)
        if b.canary ~= nil and not first[b.canary] then
            return b.where .. ".canary.backend: no backend " .. encode(b.canary) .. " in this push"
        end
    end)
    return { backends = out, refused = refused }
end

-- PATCH body text -> { backends = list as above, removed = { names }, refs = { { name, where, quoted,
-- backend } }, refused = list as above }: refs are canary targets outside this patch, which must be
-- stored (store.lua checks them under the lock, and refuses the backend that names a missing one); or
-- nil and "where: what" for a malformed patch
function _M.patch(body)
    local doc, err = decode(body, PATCH_FIELDS)
    if not doc then return nil, err end
    local list = doc.backends
    if list == nil then list = {} end -- absent ("false" must not pass as absent)
    local out, first, refused = check_backends(list)
    if not out then return nil, first end

    local removed, gone = doc.removed, {}
    if removed == nil then removed = {} end
    if not is_array(removed) then return nil, "removed: must be an array" end
    if #removed > _M.MAX_BACKENDS then
        return nil, "removed: more than " .. _M.MAX_BACKENDS .. " names"
    end
    for i = 1, #removed do
        local where, name = "removed[" .. (i - 1) .. "]", removed[i]
        if type(name) ~= "string" or not valid_name(name) then
            return nil, where .. ": must be a backend name"
        end
        if gone[name] then return nil, where .. ": duplicate of " .. gone[name] .. ' ("' .. name .. '")' end
        if first[name] then return nil, where .. ": also in " .. first[name] .. ' ("' .. name .. '")' end
        gone[name] = where
    end

    out = refuse_where(out, refused, function(b)
        if b.canary ~= nil and gone[b.canary] then
            return b.where .. ".canary.backend: " .. encode(b.canary) .. " is removed by this patch (" .. gone[b.canary] .. ")"
        end
    end)
    local refs = {}
    for _, b in ipairs(out) do
        if b.canary ~= nil and not first[b.canary] then
            refs[#refs + 1] = { name = b.canary, where = b.where .. ".canary.backend", quoted = encode(b.canary), backend = b }
        end
    end
    return { backends = out, removed = removed, refs = refs, refused = refused }
end

return _M
