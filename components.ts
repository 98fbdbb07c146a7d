/**
 * Every component of the project, registered by importing its module, and the named schemas the
 * project's topologies use. The runtime in topology/ never imports a concrete component; entry points
 * (bin/, the test driver, the docs generator) import this file once.
 */
import './sources/http-poll/index.ts';
import './sources/kafka/index.ts';
import './sources/memory.ts';
import './sources/rate.ts';

import './operators/aggregate.ts';
import './operators/dedupe.ts';
import './operators/filter.ts';
import './operators/flat-map.ts';
import './operators/key-by.ts';
import './operators/map.ts';
import './operators/mapping.ts';
import './operators/repartition.ts';
import './operators/validate.ts';
import './operators/window/index.ts';

import './sinks/cassandra/index.ts';
import './sinks/console.ts';
import './sinks/dead-letter.ts';
import './sinks/kafka/index.ts';
import './sinks/memory.ts';

import './state/kafka/index.ts';
import './state/memory.ts';

import './schemas/randomuser-user.ts';
