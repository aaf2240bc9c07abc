// Starts kinesalite bound to 127.0.0.1 only (its CLI binds every interface).
// Usage: node scripts/kinesalite.js PORT   (resolves `kinesalite` through NODE_PATH)
'use strict';
const kinesalite = require('kinesalite');
const port = parseInt(process.argv[2] || '4567', 10);
const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 1000 });
server.listen(port, '127.0.0.1', (err) => {
  if (err) throw err;
  console.log('kinesalite listening on 127.0.0.1:' + port);
});
