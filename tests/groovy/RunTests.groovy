// Runs the Groovy checks of kie-bluegreen in one JVM (called by tests/groovy/run.sh):
// 1. every src/ class, vars/*.groovy, the job scripts and the Jenkinsfile*.example pipelines
//    compile under this Groovy (the one Jenkins pipelines run: 2.4), with Jenkins' default imports;
// 2. every tests/groovy/*Test.groovy JUnit 4 class passes.
// Exits 1 when anything failed: plain `groovy SomeTest.groovy` would exit 0.
import org.codehaus.groovy.control.CompilationUnit
import org.codehaus.groovy.control.Phases
import org.junit.runner.JUnitCore
import org.junit.runner.Result

File root = new File(System.getProperty('kie.root', '.')).canonicalFile
File here = new File(root, 'tests/groovy')
List<File> sources = []
new File(root, 'src').eachFileRecurse { if (it.name.endsWith('.groovy')) sources << it }
List<File> pipelineScripts = (sources +
                              new File(root, 'vars').listFiles().findAll { it.name.endsWith('.groovy') } +
                              new File(root, 'resources/kie-bluegreen/jobs').listFiles().findAll { it.name.endsWith('.groovy') } +
                              root.listFiles().findAll { it.name ==~ /Jenkinsfile.*\.example/ }).sort { it.path }

int broken = 0
pipelineScripts.each { File file ->
    CompilationUnit unit = new CompilationUnit(PipelineHarness.compilerConfiguration(), null,
                                               new GroovyClassLoader(this.class.classLoader))
    unit.addSource(file.name.replaceAll('[^A-Za-z0-9]', '_') + '.groovy', file.text)
    try {
        unit.compile(Phases.CLASS_GENERATION)
        println "compiles: ${root.toPath().relativize(file.toPath())}"
    } catch (Exception e) {
        broken++
        println "DOES NOT COMPILE: ${root.toPath().relativize(file.toPath())}\n${e.message}"
    }
}

GroovyClassLoader loader = new GroovyClassLoader(this.class.classLoader)
List<Class> tests = here.listFiles().findAll { it.name.endsWith('Test.groovy') }.sort { it.name }.collect { loader.parseClass(it) }
Result result = new JUnitCore().run(tests as Class[])
result.failures.each { failure ->
    println "FAILED: ${failure.testHeader}\n  ${failure.exception}"
    failure.exception.stackTrace.findAll { it.fileName?.endsWith('.groovy') && it.lineNumber > 0 }.take(6).each {
        println "    at ${it.fileName}:${it.lineNumber}"
    }
}
println "JUnit: ${result.runCount} tests in ${result.runTime / 1000} s"
int failed = result.failureCount + broken
int passed = result.runCount - result.failureCount + pipelineScripts.size() - broken
println "groovy: ${passed} passed, ${failed} failed"
System.exit(failed == 0 && result.runCount > 0 ? 0 : 1)
