// Shared by every console page: the navigation bar, DOM building without innerHTML (letters and
// messages are arbitrary input), JSON requests, the live event stream and number formatting.
'use strict';

const consoleToken = document.querySelector('meta[name="console-token"]')?.content ?? '';

/** An element with attributes (on* as listeners) and children (text or elements). */
function h(tag, attrs = {}, ...children) {
  const element = tag === 'svg' || attrs.svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'svg' || value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'text') element.textContent = String(value);
    else element.setAttribute(name, String(value));
  }
  for (const child of children.flat()) if (child !== undefined && child !== null && child !== false) element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return element;
}

function svg(tag, attrs = {}, ...children) {
  return h(tag, { ...attrs, svg: true }, ...children);
}

async function getJSON(url) {
  const response = await fetch(url, { headers: { accept: 'application/json' } });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ?? `${response.status} ${response.statusText}`);
  return body;
}

/** A state-changing request: POST with the page's token (the server also checks the origin). */
async function postJSON(url, body) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-console-token': consoleToken }, body: JSON.stringify(body) });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error ?? `${response.status} ${response.statusText}`);
  return answer;
}

/** The runtime's events as they happen (server-sent events); the browser reconnects by itself. */
function onRuntimeEvents(handler) {
  const source = new EventSource('/api/events');
  const status = document.getElementById('live');
  source.onopen = () => status && ((status.textContent = '● live'), (status.className = 'live on'));
  source.onerror = () => status && ((status.textContent = '○ reconnecting'), (status.className = 'live off'));
  source.onmessage = (message) => handler(JSON.parse(message.data));
  return source;
}

const number = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });
function fmt(value) {
  return value === undefined || value === null || Number.isNaN(value) ? '–' : typeof value === 'number' ? number.format(value) : String(value);
}
function time(iso) {
  return iso ? new Date(iso).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '–';
}

function navigation(active) {
  const links = [
    ['/', 'Topology'],
    ['/pipeline', 'Pipeline'],
    ['/dead-letters', 'Dead letters'],
    ['/data', 'Data'],
    ['/file', 'Topology file'],
  ];
  const nav = document.getElementById('nav');
  nav.append(
    h('span', { class: 'brand', id: 'brand', text: 'user-stream' }),
    ...links.map(([href, label]) => h('a', { href, class: href === active ? 'active' : undefined, text: label })),
    h('span', { id: 'live', class: 'live off', text: '○ connecting' }),
  );
  getJSON('/api/overview').then((o) => (document.getElementById('brand').textContent = `user-stream · ${o.topology} · ${o.instance}`), () => undefined);
}

function showError(where, error) {
  const box = document.getElementById(where);
  if (box) box.replaceChildren(h('div', { class: 'error', text: String(error.message ?? error) }));
}
