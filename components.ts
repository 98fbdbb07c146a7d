/**
 * Every component of the project, registered by importing its module. The runtime in topology/ never
 * imports a concrete component; entry points (bin/, the test driver) import this file once.
 */
import './sources/memory.ts';
import './sources/rate.ts';
import './sinks/memory.ts';
import './sinks/console.ts';
