// The Data page: the topology's Kafka topics (partitions, messages, each reading group's lag) with a
// peek at the latest messages, and the Cassandra tables its sinks write (row count, some rows).
'use strict';

function showTopics(topics) {
  document.getElementById('topics').replaceChildren(
    h('table', {},
      h('tr', {}, ...['topic', 'partitions', 'messages', 'groups: lag (per partition)', ''].map((t) => h('th', { text: t }))),
      ...topics.map((t) =>
        h('tr', { 'data-topic': t.topic },
          h('td', { text: t.topic }),
          h('td', { class: 'num', text: t.error ? '–' : t.partitions.length }),
          h('td', { class: 'num', text: t.error ? '–' : fmt(t.messages) }),
          h('td', {}, t.error ? h('span', { class: 'error', text: t.error }) : t.groups.map((g) => h('div', { 'data-group': g.groupId, text: `${g.groupId}: ${fmt(g.lag)} (${g.partitions.map((p) => `${p.partition}: ${fmt(p.lag)}`).join(', ')})` }))),
          h('td', {}, h('button', { class: 'peek', onclick: () => void peek(t.topic), text: 'Peek' })),
        ),
      ),
    ),
  );
}

async function peek(topic) {
  const box = document.getElementById('peek');
  box.replaceChildren(h('p', { class: 'muted', text: `reading the latest messages of ${topic}…` }));
  try {
    const { messages } = await getJSON(`/api/data/peek?topic=${encodeURIComponent(topic)}&count=20`);
    box.replaceChildren(
      h('h2', { text: `Latest messages of ${topic}` }),
      h('table', {},
        h('tr', {}, ...['partition', 'offset', 'time', 'key', 'value', 'bytes'].map((t) => h('th', { text: t }))),
        ...messages.map((m) => h('tr', {}, h('td', { class: 'num', text: m.partition }), h('td', { class: 'num', text: m.offset }), h('td', { text: m.timestamp ? time(new Date(m.timestamp).toISOString()) : '–' }), h('td', { class: 'value', text: m.key ?? '' }), h('td', { class: 'value', text: m.value }), h('td', { class: 'num', text: fmt(m.size) }))),
      ),
    );
  } catch (error) {
    showError('peek', error);
  }
}

function showTables(tables) {
  document.getElementById('tables').replaceChildren(
    ...tables.flatMap((t) => [
      h('h2', { 'data-table': t.table, text: `${t.table}: ${fmt(t.rows)} rows` }),
      h('table', {}, h('tr', {}, ...t.columns.map((c) => h('th', { text: c }))), ...t.sample.map((row) => h('tr', {}, ...t.columns.map((c) => h('td', { class: 'value', text: row[c] === null ? '' : typeof row[c] === 'object' ? JSON.stringify(row[c]) : row[c] }))))),
    ]),
  );
}

async function load() {
  document.getElementById('topics').replaceChildren(h('p', { class: 'muted', text: 'reading offsets…' }));
  document.getElementById('tables').replaceChildren(h('p', { class: 'muted', text: 'counting rows…' }));
  await Promise.all([
    getJSON('/api/data/topics').then(({ topics }) => showTopics(topics), (error) => showError('topics', error)),
    getJSON('/api/data/tables?rows=10').then(({ tables }) => showTables(tables), (error) => showError('tables', error)),
  ]);
  document.body.dataset.loaded = String(Date.now());
}

document.addEventListener('DOMContentLoaded', () => {
  navigation('/data');
  document.getElementById('main').append(
    h('h1', { text: 'Data' }),
    h('div', { class: 'toolbar' }, h('button', { id: 'refresh', onclick: () => void load(), text: 'Refresh' })),
    h('h2', { text: 'Kafka topics' }),
    h('div', { id: 'topics' }),
    h('div', { id: 'peek' }),
    h('h2', { text: 'Cassandra tables' }),
    h('p', { class: 'muted', text: 'Cassandra keeps no order of arrival: the rows shown are the first by partition token.' }),
    h('div', { id: 'tables' }),
  );
  onRuntimeEvents(() => undefined);
  void load();
});
