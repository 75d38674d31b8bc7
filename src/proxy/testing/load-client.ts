// Constant request load from a client pod (churn-lab.ts), for traffic-during-change tests and
// the soak; not used at runtime. TCP is open-loop: a fresh connection to a random TCP target
// every 1/tcpRate s whatever the earlier ones are doing (a hung connection does not slow the
// load down, so what follows a change is measured too); each reads the backend's name until it
// closes. UDP is `udpWorkers` closed loops, each on one socket whose source port never changes
// (the hard case for a data plane: the flow must move when its endpoint goes). Every result is
// streamed as a JSON line [target index, start ms (epoch), duration ms, answer or "!CODE"] so the
// driver can line failures up with the changes it made. Closing stdin ends the load.
import type { ChildProcess } from 'node:child_process';
import { type ChurnLab, jsonLines } from './churn-lab.ts';

export interface LoadTarget {
  readonly ip: string;
  readonly port: number;
  readonly proto: 'TCP' | 'UDP';
}

export interface LoadOptions {
  readonly targets: readonly LoadTarget[];
  /** New TCP connections per second (0: none). */
  readonly tcpRate: number;
  /** UDP request loops (0: none). */
  readonly udpWorkers: number;
  /** Pause between a UDP loop's requests. */
  readonly udpPauseMs: number;
  /** A request without an answer this long is a failure ("!TIMEOUT"). */
  readonly timeoutMs: number;
}

/** [target index, start (epoch ms), duration ms, answer or "!CODE"]. */
export type LoadResult = [number, number, number, string];

const script = `
const net=require('net'),dgram=require('dgram');const a=JSON.parse(process.argv[1]);
let stop=false;process.stdin.on('data',()=>{});process.stdin.on('end',()=>{stop=true});process.stdin.on('error',()=>{stop=true});
let out=[];const flush=()=>{if(out.length){process.stdout.write(out.join('\\n')+'\\n');out=[]}};const fl=setInterval(flush,50);
const sleep=(ms)=>new Promise(r=>setTimeout(r,ms));
const tcp=(t)=>new Promise(r=>{const c=net.connect({host:t.ip,port:t.port});let d='',done=false;
 const fin=(v)=>{if(done)return;done=true;clearTimeout(tm);c.destroy();r(v)};const tm=setTimeout(()=>fin('!TIMEOUT'),a.timeoutMs);
 c.on('data',x=>d+=x);c.on('end',()=>fin(d.trim()||'!EMPTY'));c.on('error',e=>fin('!'+e.code))});
const udpSock=()=>new Promise(r=>{const u=dgram.createSocket('udp4');const w={u,pending:undefined};
 u.on('message',(m,ri)=>{const p=w.pending;if(p&&p.ip===ri.address&&p.port===ri.port){w.pending=undefined;p.done(String(m))}});
 u.on('error',e=>{const p=w.pending;if(p){w.pending=undefined;p.done('!'+e.code)}});u.bind(0,()=>r(w))});
const udp=(w,t)=>new Promise(r=>{const tm=setTimeout(()=>{w.pending=undefined;r('!TIMEOUT')},a.timeoutMs);
 w.pending={ip:t.ip,port:t.port,done:(v)=>{clearTimeout(tm);r(v)}};w.u.send('q',t.port,t.ip)});
const pick=(p)=>{const ix=a.targets.map((t,i)=>t.proto===p?i:-1).filter(i=>i>=0);return ()=>ix[Math.floor(Math.random()*ix.length)]};
const record=(i,t0,v)=>out.push(JSON.stringify([i,t0,Date.now()-t0,v]));
const udpLoop=async()=>{const w=await udpSock();const next=pick('UDP');while(!stop){const i=next();const t0=Date.now();
 record(i,t0,await udp(w,a.targets[i]));if(a.udpPauseMs>0)await sleep(a.udpPauseMs)}w.u.close()};
const inflight=new Set();const tcpLoop=async()=>{if(a.tcpRate<=0)return;const next=pick('TCP');const gap=1000/a.tcpRate;let due=Date.now();
 while(!stop){const i=next();const t0=Date.now();const p=tcp(a.targets[i]).then(v=>{record(i,t0,v);inflight.delete(p)});inflight.add(p);
  due+=gap;const wait=due-Date.now();if(wait<-1000)due=Date.now();await sleep(Math.max(0,wait))}await Promise.all(inflight)};
Promise.all([tcpLoop(),...Array.from({length:a.udpWorkers},udpLoop)]).then(()=>{clearInterval(fl);flush();process.exit(0)});`;

export interface Load {
  readonly results: LoadResult[];
  /** Ends the load; resolves when every worker has finished its request. */
  stop(): Promise<void>;
}

export function startLoad(lab: ChurnLab, opts: LoadOptions, onResult?: (r: LoadResult) => void): Load {
  const child: ChildProcess = lab.spawnClient(script, opts);
  const results: LoadResult[] = [];
  jsonLines<LoadResult>(child, (r) => {
    results.push(r);
    onResult?.(r);
  });
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  return {
    results,
    async stop() {
      child.stdin?.end();
      await exited;
    },
  };
}

export const isFailure = (r: LoadResult): boolean => r[3].startsWith('!');
