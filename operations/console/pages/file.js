// The Topology file page: the running version, the swap history (what changed, the pause, the
// records in flight) and the listing of the last refused file.
'use strict';

function outcome(event) {
  if (event.event === 'swap-refused') return 'refused';
  if (event.revertedTo) return 'reverted';
  return event.changed.length + event.added.length + event.removed.length === 0 ? 'unchanged' : 'applied';
}

function show(file) {
  const refused = file.lastRefused?.event;
  document.getElementById('main').replaceChildren(
    h('h1', { text: 'Topology file' }),
    h('p', {}, `${file.file ?? '(no file)'} · running version `, h('b', { id: 'version', text: file.version }), ` · ${file.swaps.length} reload(s)`),
    h('h2', { text: 'Swap history' }),
    file.swaps.length === 0
      ? h('p', { class: 'muted', text: 'no reload yet: edit the file (or send SIGHUP) and a valid change is applied pipeline by pipeline' })
      : h('table', { id: 'swaps' },
          h('tr', {}, ...['time', 'version', 'outcome', 'what', 'pause', 'records in flight'].map((t) => h('th', { text: t }))),
          ...[...file.swaps].reverse().map((s) =>
            h('tr', { 'data-outcome': outcome(s.event) },
              h('td', { text: time(s.at) }),
              h('td', { class: 'num', text: s.version }),
              h('td', { text: outcome(s.event) }),
              h('td', { text: s.event.event === 'swap' ? s.event.summary : `${s.event.cause}: ${s.event.problems.length} problem(s)` }),
              h('td', { class: 'num', text: s.event.event === 'swap' ? `${fmt(s.event.pauseMs)} ms` : '–' }),
              h('td', { text: s.event.event === 'swap' ? Object.entries(s.event.inFlightRecords).map(([p, n]) => `${p}: ${n}`).join(', ') || '–' : '–' }),
            ),
          ),
        ),
    h('h2', { text: 'Last refused file' }),
    refused ? h('div', { id: 'refused' }, h('p', { text: `${time(file.lastRefused.at)} (${refused.cause}); the running version continues` }), h('pre', { class: 'error', text: refused.reason })) : h('p', { class: 'muted', text: 'none' }),
    h('h2', { text: 'Running version (as decoded; secrets masked)' }),
    h('pre', { id: 'running', text: JSON.stringify(file.running, null, 2) }),
    h('h2', { text: 'The file now' }),
    h('pre', { id: 'file-text', text: file.fileText ?? '(not readable)' }),
  );
  document.body.dataset.loaded = String(Date.now());
}

async function load() {
  try {
    show(await getJSON('/api/topology-file'));
  } catch (error) {
    showError('main', error);
  }
}

document.addEventListener('DOMContentLoaded', () => {
  navigation('/file');
  void load();
  onRuntimeEvents((event) => (event.event === 'swap' || event.event === 'swap-refused') && void load());
});
