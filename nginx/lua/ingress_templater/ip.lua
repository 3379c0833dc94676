-- IP literal parsing. canonical() returns the one spelling nginx itself prints for an address
-- ($upstream_addr), so retries and cookies can compare endpoints as plain strings.
local tonumber, format, concat, floor = tonumber, string.format, table.concat, math.floor

local _M = {}

-- "a.b.c.d" with each part 0-255 and no leading zero (which some parsers read as octal)
local function ipv4_parts(s)
    local a, b, c, d = s:match("^(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)$")
    if not a then return nil end
    local parts = { a, b, c, d }
    for i = 1, 4 do
        local p = parts[i]
        if #p > 1 and p:sub(1, 1) == "0" then return nil end
        parts[i] = tonumber(p)
        if parts[i] > 255 then return nil end
    end
    return parts
end

-- hex groups of one side of "::"; an embedded IPv4 may end the address only
local function groups(s, out, allow_v4)
    if s == "" then return true end
    local list = {}
    for g in (s .. ":"):gmatch("([^:]*):") do list[#list + 1] = g end
    for i, g in ipairs(list) do
        if i == #list and allow_v4 and g:find(".", 1, true) then
            local v4 = ipv4_parts(g)
            if not v4 then return false end
            out[#out + 1] = v4[1] * 256 + v4[2]
            out[#out + 1] = v4[3] * 256 + v4[4]
        elseif g:find("^%x%x?%x?%x?$") then
            out[#out + 1] = tonumber(g, 16)
        else
            return false
        end
    end
    return true
end

-- 8 numbers, or nil
local function ipv6_groups(s)
    if #s < 2 or #s > 45 or s:find("[^%x:%.]") then return nil end
    local dbl = s:find("::", 1, true)
    local head, tail = {}, {}
    if dbl then
        if s:find("::", dbl + 1, true) then return nil end
        if not groups(s:sub(1, dbl - 1), head, false) then return nil end
        if not groups(s:sub(dbl + 2), tail, true) then return nil end
        if #head + #tail > 7 then return nil end
    else
        if not groups(s, head, true) or #head ~= 8 then return nil end
    end
    local all = head
    for _ = 1, 8 - #head - #tail do all[#all + 1] = 0 end
    for _, g in ipairs(tail) do all[#all + 1] = g end
    return all
end

-- RFC 5952: lower case, no leading zeros, the longest run (>= 2) of zero groups as "::"
local function format6(g)
    if g[1] == 0 and g[2] == 0 and g[3] == 0 and g[4] == 0 and g[5] == 0 and g[6] == 0xffff then
        return format("::ffff:%d.%d.%d.%d", floor(g[7] / 256), g[7] % 256, floor(g[8] / 256), g[8] % 256)
    end
    local best, best_len, run, run_len = 0, 0, 0, 0
    for i = 1, 8 do
        if g[i] == 0 then
            if run_len == 0 then run = i end
            run_len = run_len + 1
            if run_len > best_len then best, best_len = run, run_len end
        else
            run_len = 0
        end
    end
    local hex = {}
    for i = 1, 8 do hex[i] = format("%x", g[i]) end
    if best_len < 2 then return concat(hex, ":") end
    return concat(hex, ":", 1, best - 1) .. "::" .. concat(hex, ":", best + best_len, 8)
end

-- canonical text and family (4 or 6), or nil when s is not an IP literal
function _M.canonical(s)
    if type(s) ~= "string" then return nil end
    local v4 = ipv4_parts(s)
    if v4 then return s, 4 end
    local g = ipv6_groups(s)
    if g then return format6(g), 6 end
    return nil
end

return _M
