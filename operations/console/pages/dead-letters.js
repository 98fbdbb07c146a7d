// The Dead letters page: the letters of the topology's dead-letter topics — reason, stage, origin,
// time, the original bytes — filtered by reason; replay the selected ones, or every one matching the
// filter, into the topic they were read from, after a confirmation, with the count replayed.
'use strict';

let letters = [];
const selected = new Set();
const refOf = (l) => `${l.topic}/${l.partition}@${l.offset}`;

function decodePreview(letter) {
  const bytes = Uint8Array.from(atob(letter.preview), (c) => c.charCodeAt(0));
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  return letter.size > bytes.length ? `${text}…` : text === '' ? '(empty)' : text;
}

/** The first line of the original bytes; the whole preview (up to 2 KB) when opened. */
function bytesCell(letter) {
  const text = decodePreview(letter);
  const short = text.length > 100 ? `${text.slice(0, 100)}…` : text;
  return h('details', {}, h('summary', { class: 'value', text: `${short} (${fmt(letter.size)} bytes)` }), h('pre', { class: 'value', text }));
}

function showLetters() {
  const filter = document.getElementById('reason').value;
  document.getElementById('count').textContent = `${letters.length} letter(s)${filter ? ` whose reason contains "${filter}"` : ''} in ${document.body.dataset.topics || 'no dead-letter topic'}`;
  document.getElementById('replay-selected').textContent = `Replay selected (${selected.size})`;
  document.getElementById('replay-selected').disabled = selected.size === 0;
  document.getElementById('letters').replaceChildren(
    h('table', {},
      h('tr', {}, ...['', 'failed at', 'pipeline', 'stage', 'reason', 'origin', 'key', 'original bytes', ''].map((t) => h('th', { text: t }))),
      ...letters.map((l) =>
        h('tr', { class: 'letter', 'data-key': l.key ?? '', 'data-ref': refOf(l) },
          h('td', {}, h('input', { type: 'checkbox', class: 'pick', checked: selected.has(refOf(l)) || undefined, onchange: (e) => (e.target.checked ? selected.add(refOf(l)) : selected.delete(refOf(l)), showLetters()) })),
          h('td', { text: time(l.failedAt) }),
          h('td', { text: l.pipeline }),
          h('td', { text: l.stage }),
          h('td', { class: 'reason', text: l.reason }),
          h('td', { class: 'origin', text: l.origin ? `${l.origin.topic}/${l.origin.partition ?? '?'}@${l.origin.offset ?? '?'}` : '–' }),
          h('td', { class: 'value', text: l.key ?? '' }),
          h('td', { class: 'bytes' }, bytesCell(l)),
          h('td', {}, h('a', { href: `/api/dead-letters/bytes?topic=${encodeURIComponent(l.topic)}&partition=${l.partition}&offset=${l.offset}`, text: 'bytes' })),
        ),
      ),
    ),
  );
}

async function load() {
  const reason = document.getElementById('reason').value;
  try {
    const answer = await getJSON(`/api/dead-letters${reason ? `?reason=${encodeURIComponent(reason)}` : ''}`);
    letters = answer.letters.sort((a, b) => (b.failedAt ?? '').localeCompare(a.failedAt ?? ''));
    document.body.dataset.topics = answer.topics.join(', ');
    const present = new Set(letters.map(refOf));
    for (const ref of [...selected]) if (!present.has(ref)) selected.delete(ref);
    showLetters();
    document.body.dataset.loaded = String(Date.now());
  } catch (error) {
    showError('letters', error);
  }
}

/** Ask, then replay; the server re-reads the letters and writes their original bytes. */
function replay(request, what) {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = `Replay ${what} into their source topic(s)? Do this once the cause is fixed: each is written again, byte for byte, and read by every pipeline of that topic.`;
  dialog.returnValue = '';
  dialog.showModal();
  dialog.onclose = async () => {
    if (dialog.returnValue !== 'replay') return;
    const result = document.getElementById('result');
    result.replaceChildren(h('span', { class: 'muted', text: 'replaying…' }));
    try {
      const report = await postJSON('/api/dead-letters/replay', request);
      const into = Object.entries(report.byTopic).map(([topic, n]) => `${n} into ${topic}`).join(', ');
      const skipped = [report.duplicates && `${report.duplicates} of the same origin`, report.withoutOrigin && `${report.withoutOrigin} without an origin`, report.missing && `${report.missing} no longer in the topic`].filter(Boolean).join(', ');
      result.replaceChildren(h('div', { class: 'result', id: 'replayed', 'data-replayed': report.replayed, text: `Replayed ${report.replayed} message(s)${into ? `: ${into}` : ''}${skipped ? `; skipped ${skipped}` : ''}.` }));
      selected.clear();
      showLetters();
    } catch (error) {
      showError('result', error);
    }
  };
}

document.addEventListener('DOMContentLoaded', () => {
  navigation('/dead-letters');
  document.getElementById('main').append(
    h('h1', { text: 'Dead letters' }),
    h('div', { class: 'toolbar' },
      h('label', {}, 'reason contains ', h('input', { type: 'text', id: 'reason', placeholder: 'e.g. post_code', value: new URLSearchParams(location.search).get('reason') ?? '' })),
      h('button', { id: 'filter', onclick: () => void load(), text: 'Filter' }),
      h('button', { id: 'replay-selected', onclick: () => replay({ letters: letters.filter((l) => selected.has(refOf(l))).map(({ topic, partition, offset }) => ({ topic, partition, offset })) }, `${selected.size} selected letter(s)`), text: 'Replay selected' }),
      h('button', { id: 'replay-matching', onclick: () => { const reason = document.getElementById('reason').value; replay({ reason }, reason ? `every letter whose reason contains "${reason}"` : 'every letter'); }, text: 'Replay all matching' }),
    ),
    h('div', { id: 'result' }),
    h('p', { id: 'count', class: 'muted' }),
    h('div', { id: 'letters' }),
    h('dialog', { id: 'confirm' },
      h('form', { method: 'dialog' },
        h('p', { id: 'confirm-text' }),
        h('button', { value: 'cancel', id: 'confirm-cancel', text: 'Cancel' }), ' ',
        h('button', { value: 'replay', id: 'confirm-replay', text: 'Replay' }),
      ),
    ),
  );
  document.getElementById('reason').addEventListener('keydown', (e) => e.key === 'Enter' && void load());
  void load();
  // New dead letters show up as batches report them.
  let pending;
  onRuntimeEvents((event) => {
    if (event.event !== 'progress' || event.numDeadLetterRows === 0) return;
    pending ??= setTimeout(() => {
      pending = undefined;
      void load();
    }, 2000);
  });
});
