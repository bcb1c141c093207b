"""How often does a study's interval cover its target? A simulation of the README main job's design (issue 16).

    scripts/python.sh scripts/interval_coverage.py

Truth: the main job's fitted law L = a*C^b + c (a = 1012.85, b = -0.79439, c = 3.35162) at its proxies' C
(widths 16..64) and its target's (width 256), each run's loss the law plus independent normal noise of sd
0.0105 (its seeds' measured scatter), 2 seeds per proxy and for the target. Per simulated study, scipy's
curve_fit, and two intervals at the target:
  - the rule nanolm used until 2026-12-03: means weighted by s/sqrt(k), covariance inv(J'WJ)*max(1, chi2/(n-p)),
    t on n - p;
  - the rule it uses now (SigmaScale.pooled): the seeds' scatter pooled with the means' about the law,
    inv(J'WJ)*(chi2 + d)/(n - p + d), t on n - p + d (unless the lack-of-fit F test rejects at 5%: then
    chi2/(n - p), t on n - p), widened by one run's variance over the target's 2 seeds.
Prints how often each covers the target's measured loss (the mean of its 2 seeds), how often the pooled law
interval alone covers the true law, and the median half-widths.
"""
import numpy as np, warnings
from scipy.optimize import curve_fit
from scipy.stats import t as student, f as fisher
warnings.simplefilter('ignore')
C=np.array([22976,39072,58240,105792,165632.]); Ct=1842176.
a,b,c=1012.8525630049575,-0.7943883666312067,3.351617061886618
sd=0.0105; K=2; g0=np.exp(np.log(C).mean())
def law(x,A,B,Cc): return A*x**B+Cc
truth=lambda C:a*C**b+c
rng=np.random.default_rng(0)
cov_new=cov_old=cov_law=0; hws=[];hwo=[]; N=0
for it in range(2000):
    Y=truth(C)[:,None]+sd*rng.standard_normal((5,K)); act=truth(Ct)+sd*rng.standard_normal(K).mean()
    x=np.repeat(C/g0,K); y=Y.ravel()
    try: p,pc=curve_fit(law,x,y,p0=[a*g0**b,b,c],maxfev=20000)
    except Exception: continue
    if p[2]<0: continue  # the bound; skip (rare)
    N+=1
    xt=Ct/g0; gr=np.array([xt**p[1],p[0]*xt**p[1]*np.log(xt),1.0])
    means=Y.mean(1); s2=((Y-means[:,None])**2).sum()/(5*(K-1)); d=5*(K-1)
    sig=np.sqrt(s2/K); chi2=(((means-law(C/g0,*p))/sig)**2).sum(); m=2
    Fp=fisher.sf(chi2/m,m,d)
    # old: absolute floor, t on 2
    J=np.stack([ (C/g0)**p[1], p[0]*(C/g0)**p[1]*np.log(C/g0), np.ones(5)],1)/sig
    inv=np.linalg.inv(J.T@J); old=inv*max(1,chi2/m); ho=student.ppf(.975,m)*np.sqrt(gr@old@gr)
    if Fp>=0.05: cov=inv*(chi2+d)/(m+d); dof=m+d; rv=s2*(chi2+d)/(m+d)
    else: cov=inv*chi2/m; dof=m; rv=s2*chi2/m
    se=np.sqrt(gr@cov@gr); tq=student.ppf(.975,dof)
    hn=tq*np.sqrt(se**2+rv/K); hl=tq*se
    pred=law(xt,*p)
    cov_new+=abs(pred-act)<=hn; cov_old+=abs(pred-act)<=ho; cov_law+=abs(pred-truth(Ct))<=hl
    hws.append(hn/pred*100); hwo.append(ho/pred*100)
print(N,'coverage of the measured target: new %.3f old %.3f; law interval covers the true law %.3f; median hw new %.2f%% old %.2f%%'%(cov_new/N,cov_old/N,cov_law/N,np.median(hws),np.median(hwo)))
